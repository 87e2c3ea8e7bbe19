import { MikroORM } from '@mikro-orm/postgresql';
import { QueryHandler, type IQueryHandler } from '@nestjs/cqrs';
import { readDb, type ReadDb } from '@emporium/database';
import { Instrumented } from '@emporium/telemetry';
import { OrderNotFound } from '../../domain/order.errors.js';
import { ORDER_COLUMNS, toOrderView, type OrderView } from '../order-view.js';
import { GetOrder } from './get-order.query.js';

@QueryHandler(GetOrder)
export class GetOrderHandler implements IQueryHandler<GetOrder> {
  private readonly db: ReadDb;

  constructor(orm: MikroORM) {
    this.db = readDb(orm);
  }

  @Instrumented('query')
  async execute({ actor, orderId }: GetOrder): Promise<OrderView> {
    const row = await this.db
      .selectFrom('read_orders')
      .select(ORDER_COLUMNS)
      .where('id', '=', orderId)
      .executeTakeFirst();
    // Someone else's order is "not found": its existence is not leaked.
    if (!row || (!actor.roles.includes('admin') && row.customer_id !== actor.id)) throw new OrderNotFound(orderId);
    return toOrderView(row);
  }
}
