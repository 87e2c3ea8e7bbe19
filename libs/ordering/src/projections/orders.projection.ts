import { Injectable } from '@nestjs/common';
import { OrderingEvents, type DomainEvent } from '@emporium/contracts';
import type { OrderLineRow, OrderStatusColumn, OrderTimelineRow, ReadDb } from '@emporium/database';
import { byAggregate, recordset, type Projection } from '@emporium/projections';
// The same columns the order queries read: a projection row is written whole.
import { ORDER_COLUMNS } from '../application/order-view.js';

export const ordersProjectionEvents = Object.values(OrderingEvents);
type OrderEvent = DomainEvent<(typeof ordersProjectionEvents)[number]>;

const STATUS_BY_EVENT = {
  [OrderingEvents.OrderPlaced]: 'placed',
  [OrderingEvents.OrderPaid]: 'paid',
  [OrderingEvents.OrderShipped]: 'shipped',
  [OrderingEvents.OrderCancelled]: 'cancelled',
} as const satisfies Record<OrderEvent['type'], string>;

interface OrderChange {
  id: string;
  status: OrderStatusColumn;
  updated_at: string;
  version: number;
  /** Status changes to append to the timeline, oldest first. */
  timeline: OrderTimelineRow[];
}

/** A placed order: its change plus what only the placement carries. */
interface OrderPlacement extends OrderChange {
  customer_id: string;
  lines: OrderLineRow[];
  total_cents: number;
  currency: string;
  placed_at: string;
}

const CHANGE = { id: 'uuid', status: 'text', updated_at: 'timestamptz', version: 'int', timeline: 'jsonb' } as const;
const PLACED = {
  ...CHANGE,
  customer_id: 'uuid',
  lines: 'jsonb',
  total_cents: 'bigint',
  currency: 'text',
  placed_at: 'timestamptz',
} as const;

/** Order history: one row per order with its lines and a status timeline. */
@Injectable()
export class OrdersProjection implements Projection<OrderEvent['type']> {
  readonly name = 'orders';
  readonly eventTypes = ordersProjectionEvents;
  readonly tables = ['read_orders'];

  /** Each order's events folded into one row change: placed orders inserted, the others updated. */
  async apply(events: readonly OrderEvent[], db: ReadDb): Promise<void> {
    const placed: OrderPlacement[] = [];
    const changed: OrderChange[] = [];
    for (const [id, stream] of byAggregate(events)) {
      const change: OrderChange = { id, status: 'placed', updated_at: '', version: 0, timeline: [] };
      let placement: Omit<OrderPlacement, keyof OrderChange> | undefined;
      for (const event of stream) {
        if (event.type === OrderingEvents.OrderPlaced) {
          const p = event.payload;
          placement = {
            customer_id: p.customerId,
            lines: p.lines,
            total_cents: p.totalCents,
            currency: p.currency,
            placed_at: event.occurredAt,
          };
        }
        change.status = STATUS_BY_EVENT[event.type];
        change.updated_at = event.occurredAt;
        change.version = event.aggregateVersion;
        change.timeline.push({ status: change.status, at: event.occurredAt });
      }
      if (placement) placed.push({ ...change, ...placement });
      else changed.push(change);
    }
    if (placed.length > 0) {
      await db
        .insertInto('read_orders')
        .columns(ORDER_COLUMNS)
        .expression(
          db
            .selectFrom(recordset('r', placed, PLACED))
            .select(ORDER_COLUMNS)
            .orderBy('id'),
        )
        .execute();
    }
    if (changed.length > 0) {
      const result = await db
        .updateTable('read_orders as o')
        .from(recordset('r', changed, CHANGE))
        .set((eb) => ({
          status: eb.ref('r.status'),
          updated_at: eb.ref('r.updated_at'),
          version: eb.ref('r.version'),
          // jsonb concatenation: the new status changes appended (the column is written as JSON).
          timeline: eb('o.timeline', '||', eb.ref('r.timeline')).$castTo<string>(),
        }))
        .whereRef('o.id', '=', 'r.id')
        .executeTakeFirstOrThrow();
      const updated = Number(result.numUpdatedRows);
      if (updated !== changed.length) {
        throw new Error(`order rows are missing for ${changed.length - updated} order(s)`);
      }
    }
  }
}
