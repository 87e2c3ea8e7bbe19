import { Injectable } from '@nestjs/common';
import { sql } from 'kysely';
import { OrderingEvents, type EventEnvelope } from '@emporium/contracts';
import { field, isArray, isInt, isString, PoisonMessageError, type Db, type Projection } from '@emporium/messaging';

export const ordersProjectionEvents = Object.values(OrderingEvents);

const STATUS_BY_EVENT: Record<string, string> = {
  [OrderingEvents.OrderPaid]: 'paid',
  [OrderingEvents.OrderShipped]: 'shipped',
  [OrderingEvents.OrderCancelled]: 'cancelled',
};

/** Order history: one row per order with its lines and a status timeline. */
@Injectable()
export class OrdersProjection implements Projection {
  readonly name = 'orders';
  readonly eventTypes = ordersProjectionEvents;
  readonly tables = ['read_orders'];

  async apply(event: EventEnvelope, db: Db): Promise<void> {
    const p = event.payload;
    const at = event.occurredAt;
    if (event.type === OrderingEvents.OrderPlaced) {
      const timeline = JSON.stringify([{ status: 'placed', at }]);
      await sql`insert into read_orders
          (id, customer_id, status, lines, total_cents, currency, placed_at, updated_at, timeline, version)
        values (${event.aggregateId}, ${field<string>(p, 'customerId', isString)}, 'placed',
          ${JSON.stringify(field<unknown[]>(p, 'lines', isArray))}::jsonb, ${field<number>(p, 'totalCents', isInt)},
          ${field<string>(p, 'currency', isString)}, ${at}, ${at}, ${timeline}::jsonb, ${event.aggregateVersion})`.execute(
        db,
      );
      return;
    }
    const status = STATUS_BY_EVENT[event.type];
    if (!status) throw new PoisonMessageError(`orders projection cannot apply ${event.type}`);
    const result = await sql`update read_orders
        set status = ${status}, updated_at = ${at}, version = ${event.aggregateVersion},
            timeline = timeline || ${JSON.stringify([{ status, at }])}::jsonb
      where id = ${event.aggregateId}`.execute(db);
    if (result.numAffectedRows === 0n) throw new Error(`order row ${event.aggregateId} is missing`);
  }
}
