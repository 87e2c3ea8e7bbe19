import { Injectable } from '@nestjs/common';
import { sql } from 'kysely';
import { OrderingEvents, type DomainEvent } from '@emporium/contracts';
import { byAggregate, type Db, type Projection } from '@emporium/projections';

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
  status: string;
  updated_at: string;
  version: number;
  /** Status changes to append to the timeline, oldest first. */
  timeline: Array<{ status: string; at: string }>;
}

/** Order history: one row per order with its lines and a status timeline. */
@Injectable()
export class OrdersProjection implements Projection<OrderEvent['type']> {
  readonly name = 'orders';
  readonly eventTypes = ordersProjectionEvents;
  readonly tables = ['read_orders'];

  /** Each order's events folded into one row change: placed orders inserted, the others updated. */
  async apply(events: readonly OrderEvent[], db: Db): Promise<void> {
    const placed: Array<OrderChange & Record<string, unknown>> = [];
    const changed: OrderChange[] = [];
    for (const [id, stream] of byAggregate(events)) {
      const change: OrderChange = { id, status: '', updated_at: '', version: 0, timeline: [] };
      let placement: Record<string, unknown> | undefined;
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
      await sql`insert into read_orders
          (id, customer_id, status, lines, total_cents, currency, placed_at, updated_at, timeline, version)
        select id, customer_id, status, lines, total_cents, currency, placed_at, updated_at, timeline, version
          from jsonb_to_recordset(${JSON.stringify(placed)}::jsonb) as r(id uuid, customer_id uuid, status text,
               lines jsonb, total_cents bigint, currency text, placed_at timestamptz, updated_at timestamptz,
               timeline jsonb, version int)
         order by id`.execute(db);
    }
    if (changed.length > 0) {
      const result = await sql`update read_orders o
          set status = r.status, updated_at = r.updated_at, version = r.version, timeline = o.timeline || r.timeline
          from jsonb_to_recordset(${JSON.stringify(changed)}::jsonb) as r(id uuid, status text,
               updated_at timestamptz, version int, timeline jsonb)
         where o.id = r.id`.execute(db);
      if (result.numAffectedRows !== BigInt(changed.length)) {
        throw new Error(`order rows are missing for ${changed.length - Number(result.numAffectedRows)} order(s)`);
      }
    }
  }
}
