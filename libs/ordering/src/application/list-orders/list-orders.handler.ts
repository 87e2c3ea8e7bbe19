import { MikroORM } from '@mikro-orm/postgresql';
import { QueryHandler, type IQueryHandler } from '@nestjs/cqrs';
import { readDb, type ReadDb } from '@emporium/database';
import { KeysetCursor } from '@emporium/projections';
import { Instrumented } from '@emporium/telemetry';
import { ORDER_COLUMNS, toOrderView, type OrderView } from '../order-view.js';
import { ListOrders } from './list-orders.query.js';

/** Newest first, by (placed_at, id). */
const cursor = new KeysetCursor(['instant', 'uuid']);

/** A customer sees only their own orders; an admin sees all and may filter by customer. */
@QueryHandler(ListOrders)
export class ListOrdersHandler implements IQueryHandler<ListOrders> {
  private readonly db: ReadDb;

  constructor(orm: MikroORM) {
    this.db = readDb(orm);
  }

  @Instrumented('query')
  async execute({ actor, filter }: ListOrders): Promise<{ items: OrderView[]; nextCursor: string | null }> {
    const customerId = actor.roles.includes('admin') ? filter.customerId : actor.id;
    // A cursor pages through the orders it was issued for: the same customer and status.
    const scope = { customerId, status: filter.status };
    let query = this.db
      .selectFrom('read_orders')
      .select(ORDER_COLUMNS)
      .orderBy('placed_at', 'desc')
      .orderBy('id', 'desc')
      .limit(filter.limit + 1);
    if (customerId !== undefined) query = query.where('customer_id', '=', customerId);
    if (filter.status !== undefined) query = query.where('status', '=', filter.status);
    if (filter.cursor !== undefined) {
      const [placedAt, id] = cursor.decode(filter.cursor, scope);
      query = query.where((eb) => eb(eb.refTuple('placed_at', 'id'), '<', eb.tuple(placedAt, id)));
    }
    const rows = await query.execute();
    const page = rows.slice(0, filter.limit).map(toOrderView);
    const last = page.at(-1);
    return {
      items: page,
      nextCursor: rows.length > filter.limit && last ? cursor.encode(scope, [last.placedAt, last.id]) : null,
    };
  }
}
