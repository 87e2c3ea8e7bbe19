import { LockMode } from '@mikro-orm/postgresql';
import { CommandHandler, type ICommandHandler } from '@nestjs/cqrs';
import { Product } from '@emporium/catalog';
import { UnitOfWork, type CommandResult } from '@emporium/domain';
import { loadOrderFor } from '../order-change.js';
import { CancelOrder } from './cancel-order.command.js';
import { Instrumented } from '@emporium/telemetry';

/** Cancels an order and releases its stock in the same transaction. */
@CommandHandler(CancelOrder)
export class CancelOrderHandler implements ICommandHandler<CancelOrder> {
  constructor(private readonly uow: UnitOfWork) {}

  @Instrumented('command')
  execute({ context, orderId }: CancelOrder): Promise<CommandResult> {
    return this.uow.execute(context, async (em) => {
      const order = await loadOrderFor(em, context, orderId, 'owner-or-admin');
      const lines = order.cancel(
        context.isAdmin() && context.actor.id !== order.customerId ? 'cancelled by admin' : 'cancelled by customer',
      );
      const products = await em.find(
        Product,
        { id: { $in: lines.map((l) => l.productId) } },
        { lockMode: LockMode.PESSIMISTIC_WRITE, orderBy: { id: 'asc' } },
      );
      for (const product of products) {
        product.release(order.id, lines.find((l) => l.productId === product.id)!.quantity);
      }
      return order;
    });
  }
}
