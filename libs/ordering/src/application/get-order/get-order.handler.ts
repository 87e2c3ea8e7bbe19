import { MikroORM } from '@mikro-orm/postgresql';
import { QueryHandler, type IQueryHandler } from '@nestjs/cqrs';
import { sql } from 'kysely';
import { OrderNotFound } from '../../domain/order.errors.js';
import { ORDER_COLUMNS, toOrderView, type OrderRow, type OrderView } from '../order-view.js';
import { GetOrder } from './get-order.query.js';
import { Instrumented } from '@emporium/telemetry';

@QueryHandler(GetOrder)
export class GetOrderHandler implements IQueryHandler<GetOrder> {
  constructor(private readonly orm: MikroORM) {}

  @Instrumented('query')
  async execute({ actor, orderId }: GetOrder): Promise<OrderView> {
    const { rows } =
      await sql<OrderRow>`select ${sql.raw(ORDER_COLUMNS)} from read_orders where id = ${orderId}`.execute(
        this.orm.em.fork().getKysely(),
      );
    const row = rows[0];
    // Someone else's order is "not found": its existence is not leaked.
    if (!row || (!actor.roles.includes('admin') && row.customer_id !== actor.id)) throw new OrderNotFound(orderId);
    return toOrderView(row);
  }
}
