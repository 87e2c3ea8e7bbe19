import { Injectable } from '@nestjs/common';
import { sql } from 'kysely';
import { OrderingEvents, type EventEnvelope, type OrderLineV1 } from '@emporium/contracts';
import { field, isArray, isString, PoisonMessageError, type Db, type Projection } from '@emporium/messaging';

export const salesProjectionEvents = [OrderingEvents.OrderPlaced, OrderingEvents.OrderCancelled];

/**
 * Net units and revenue per product and UTC day: a placement adds on the day it happened, a
 * cancellation subtracts on the day it happened (a cash-flow view, like a till).
 */
@Injectable()
export class SalesProjection implements Projection {
  readonly name = 'sales';
  readonly eventTypes = salesProjectionEvents;
  readonly tables = ['read_sales_daily'];
  /** Rows per (day, product) are shared by every order of that product: see Projection.groupCommit. */
  readonly groupCommit = false;

  async apply(event: EventEnvelope, db: Db): Promise<void> {
    const sign = event.type === OrderingEvents.OrderPlaced ? 1 : event.type === OrderingEvents.OrderCancelled ? -1 : 0;
    if (sign === 0) throw new PoisonMessageError(`sales projection cannot apply ${event.type}`);
    const currency = field<string>(event.payload, 'currency', isString);
    const lines = [...field<OrderLineV1[]>(event.payload, 'lines', isArray)]
      // Same lock order in every transaction: two orders for the same products never deadlock.
      .sort((a, b) => (a.productId < b.productId ? -1 : 1));
    const day = event.occurredAt.slice(0, 10);
    for (const line of lines) {
      if (!Number.isSafeInteger(line.quantity) || !Number.isSafeInteger(line.unitPriceCents)) {
        throw new PoisonMessageError('payload.lines has an invalid line');
      }
      const units = sign * line.quantity;
      const revenue = sign * line.quantity * line.unitPriceCents;
      await sql`insert into read_sales_daily (day, product_id, category, currency, units, revenue_cents)
          values (${day}::date, ${line.productId}, ${line.category}, ${currency}, ${units}, ${revenue})
          on conflict (day, product_id) do update
            set units = read_sales_daily.units + excluded.units,
                revenue_cents = read_sales_daily.revenue_cents + excluded.revenue_cents`.execute(db);
    }
  }
}
