import { CommandHandler, type ICommandHandler } from '@nestjs/cqrs';
import { StockReservation } from '@emporium/catalog';
import { UnitOfWork, type CommandResult } from '@emporium/domain';
import { Instrumented } from '@emporium/telemetry';
import { loadOrderFor, lockProducts } from '../order-change.js';
import { CancelOrder } from './cancel-order.command.js';

/** Cancels an order (its owner or an admin) and releases its stock in the same transaction. */
@CommandHandler(CancelOrder)
export class CancelOrderHandler implements ICommandHandler<CancelOrder> {
  constructor(private readonly uow: UnitOfWork) {}

  @Instrumented('command')
  execute({ context, orderId }: CancelOrder): Promise<CommandResult> {
    return this.uow.execute(context, async (em) => {
      const order = await loadOrderFor(em, context, orderId, 'owner-or-admin');
      const lines = order.cancel(
        context.actor.id === order.customerId ? 'cancelled by customer' : 'cancelled by admin',
      );
      const products = await lockProducts(
        em,
        lines.map((l) => l.productId),
      );
      StockReservation.release(order.id, lines, products);
      return order;
    });
  }
}
