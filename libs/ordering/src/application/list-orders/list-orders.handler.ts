import { MikroORM } from '@mikro-orm/postgresql';
import { QueryHandler, type IQueryHandler } from '@nestjs/cqrs';
import { sql, type RawBuilder } from 'kysely';
import { InvalidOrderCursor, ORDER_COLUMNS, toOrderView, type OrderRow, type OrderView } from '../order-view.js';
import { ListOrders } from './list-orders.query.js';
import { Instrumented } from '@emporium/telemetry';

/** A customer sees only their own orders; an admin sees all and may filter by customer. */
@QueryHandler(ListOrders)
export class ListOrdersHandler implements IQueryHandler<ListOrders> {
  constructor(private readonly orm: MikroORM) {}

  @Instrumented('query')
  async execute({ actor, filter }: ListOrders): Promise<{ items: OrderView[]; nextCursor: string | null }> {
    const where: RawBuilder<unknown>[] = [];
    if (!actor.roles.includes('admin')) where.push(sql`customer_id = ${actor.id}`);
    else if (filter.customerId !== undefined) where.push(sql`customer_id = ${filter.customerId}`);
    if (filter.status !== undefined) where.push(sql`status = ${filter.status}`);
    if (filter.cursor !== undefined) {
      const [at, id] = decode(filter.cursor);
      where.push(sql`(placed_at, id) < (${at}::timestamptz, ${id}::uuid)`);
    }
    const { rows } = await sql<OrderRow>`select ${sql.raw(ORDER_COLUMNS)} from read_orders
        ${where.length ? sql`where ${sql.join(where, sql` and `)}` : sql``}
        order by placed_at desc, id desc limit ${filter.limit + 1}`.execute(this.orm.em.fork().getKysely());
    const page = rows.slice(0, filter.limit).map(toOrderView);
    const last = page.at(-1);
    return {
      items: page,
      nextCursor:
        rows.length > filter.limit && last
          ? Buffer.from(JSON.stringify([last.placedAt, last.id])).toString('base64url')
          : null,
    };
  }
}

function decode(cursor: string): [string, string] {
  try {
    const value = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as unknown;
    if (
      Array.isArray(value) &&
      value.length === 2 &&
      typeof value[0] === 'string' &&
      /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?Z$/.test(value[0]) &&
      !Number.isNaN(Date.parse(value[0])) &&
      typeof value[1] === 'string' &&
      /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/.test(value[1])
    ) {
      return [value[0], value[1]];
    }
  } catch {
    // fall through
  }
  throw new InvalidOrderCursor();
}
