import { MikroORM } from '@mikro-orm/postgresql';
import { QueryHandler, type IQueryHandler } from '@nestjs/cqrs';
import { sql } from 'kysely';
import { GetDailySales, type DailySalesRow } from './daily-sales.query.js';
import { Instrumented } from '@emporium/telemetry';

@QueryHandler(GetDailySales)
export class GetDailySalesHandler implements IQueryHandler<GetDailySales> {
  constructor(private readonly orm: MikroORM) {}

  @Instrumented('query')
  async execute({ filter }: GetDailySales): Promise<{ items: DailySalesRow[] }> {
    const { rows } = await sql<{
      day: string;
      product_id: string;
      category: string;
      currency: string;
      units: number;
      revenue_cents: string;
    }>`select to_char(day, 'YYYY-MM-DD') as day, product_id, category, currency, units, revenue_cents
         from read_sales_daily
        where day between ${filter.from}::date and ${filter.to}::date
          ${filter.category !== undefined ? sql`and category = ${filter.category}` : sql``}
        order by day, product_id
        limit 10000`.execute(this.orm.em.fork().getKysely());
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
