import { MikroORM } from '@mikro-orm/postgresql';
import { QueryHandler, type IQueryHandler } from '@nestjs/cqrs';
import { readDb, type ReadDb } from '@emporium/database';
import { Instrumented } from '@emporium/telemetry';
import { DEFAULT_SALES_DAYS, GetDailySales, InvalidSalesRange, type DailySalesRow } from './daily-sales.query.js';

const DAY_MS = 86_400_000;

/** The inclusive UTC day range of a report: given, or the default window ending today. */
export function salesWindow(filter: { from?: string; to?: string }, now = new Date()): { from: string; to: string } {
  const to = filter.to ?? now.toISOString().slice(0, 10);
  const from =
    filter.from ??
    new Date(Date.parse(`${to}T00:00:00Z`) - (DEFAULT_SALES_DAYS - 1) * DAY_MS).toISOString().slice(0, 10);
  return { from, to };
}

@QueryHandler(GetDailySales)
export class GetDailySalesHandler implements IQueryHandler<GetDailySales> {
  private readonly db: ReadDb;

  constructor(orm: MikroORM) {
    this.db = readDb(orm);
  }

  @Instrumented('query')
  async execute({ filter }: GetDailySales): Promise<{ items: DailySalesRow[] }> {
    const { from, to } = salesWindow(filter);
    if (from > to) throw new InvalidSalesRange(from, to);
    let query = this.db
      .selectFrom('read_sales_daily')
      .select(['day', 'product_id', 'category', 'currency', 'units', 'revenue_cents'])
      .where('day', '>=', from)
      .where('day', '<=', to)
      .orderBy('day')
      .orderBy('product_id')
      .limit(10_000);
    if (filter.category !== undefined) {
      const category = filter.category;
      query = query.where((eb) => eb(eb.fn('lower', ['category']), '=', eb.fn('lower', [eb.val(category)])));
    }
    const rows = await query.execute();
    return {
      items: rows.map((r) => ({
        day: r.day,
        productId: r.product_id,
        category: r.category,
        currency: r.currency,
        units: r.units,
        revenueCents: Number(r.revenue_cents),
      })),
    };
  }
}
