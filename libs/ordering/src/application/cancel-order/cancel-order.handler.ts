import { CommandHandler, type ICommandHandler } from '@nestjs/cqrs';
import { UnitOfWork, type CommandResult } from '@emporium/domain';
import { Instrumented } from '@emporium/telemetry';
import { loadOrderFor } from '../order-change.js';
import { releaseStock } from '../release-stock.js';
import { CancelOrder } from './cancel-order.command.js';

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
      await releaseStock(em, order.id, lines);
      return order;
    });
  }
}
