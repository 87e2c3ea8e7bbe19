import { Injectable } from '@nestjs/common';
import { OrderingEvents, type DomainEvent } from '@emporium/contracts';
import type { ReadDb } from '@emporium/database';
import { recordset, type Projection } from '@emporium/projections';

export const salesProjectionEvents = [OrderingEvents.OrderPlaced, OrderingEvents.OrderCancelled];
type SalesEvent = DomainEvent<(typeof salesProjectionEvents)[number]>;

interface DayTotal {
  day: string;
  product_id: string;
  category: string;
  currency: string;
  units: number;
  revenue_cents: number;
}

const DAY_TOTAL = {
  day: 'date',
  product_id: 'uuid',
  category: 'text',
  currency: 'text',
  units: 'int',
  revenue_cents: 'bigint',
} as const;
const SALES_COLUMNS = ['day', 'product_id', 'category', 'currency', 'units', 'revenue_cents'] as const;

/**
 * Net units and revenue per product and UTC day: a placement adds on the day it happened, a
 * cancellation subtracts on the day it happened (a cash-flow view, like a till).
 */
@Injectable()
export class SalesProjection implements Projection<SalesEvent['type']> {
  readonly name = 'sales';
  readonly eventTypes = salesProjectionEvents;
  readonly tables = ['read_sales_daily'];

  /**
   * The batch's lines summed per (day, product) first, then one upsert. Those rows are shared by
   * every order of a product, so they are written in (day, product) order: two transactions
   * touching the same rows take their locks in the same order and never deadlock.
   */
  async apply(events: readonly SalesEvent[], db: ReadDb): Promise<void> {
    const totals = new Map<string, DayTotal>();
    for (const event of events) {
      const sign = event.type === OrderingEvents.OrderPlaced ? 1 : -1;
      const day = event.occurredAt.slice(0, 10);
      for (const line of event.payload.lines) {
        const key = `${day}/${line.productId}`;
        const total = totals.get(key) ?? {
          day,
          product_id: line.productId,
          category: line.category,
          currency: event.payload.currency,
          units: 0,
          revenue_cents: 0,
        };
        total.units += sign * line.quantity;
        total.revenue_cents += sign * line.quantity * line.unitPriceCents;
        totals.set(key, total);
      }
    }
    const rows = [...totals.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, total]) => total);
    await db
      .insertInto('read_sales_daily')
      .columns(SALES_COLUMNS)
      .expression(
        db
          .selectFrom(recordset('r', rows, DAY_TOTAL))
          .select(SALES_COLUMNS)
          .orderBy('day')
          .orderBy('product_id'),
      )
      .onConflict((oc) =>
        oc.columns(['day', 'product_id']).doUpdateSet((eb) => ({
          units: eb('read_sales_daily.units', '+', eb.ref('excluded.units')),
          revenue_cents: eb('read_sales_daily.revenue_cents', '+', eb.ref('excluded.revenue_cents')),
        })),
      )
      .execute();
  }
}
