import { CommandHandler, type ICommandHandler } from '@nestjs/cqrs';
import { UnitOfWork, type CommandResult } from '@emporium/domain';
import { loadOrderFor } from '../order-change.js';
import { PayOrder } from './pay-order.command.js';
import { Instrumented } from '@emporium/telemetry';

@CommandHandler(PayOrder)
export class PayOrderHandler implements ICommandHandler<PayOrder> {
  constructor(private readonly uow: UnitOfWork) {}

  @Instrumented('command')
  execute({ context, orderId }: PayOrder): Promise<CommandResult> {
    return this.uow.execute(context, async (em) => {
      // An admin sees the order but may not pay it (403); anyone else does not see it (404).
      const order = await loadOrderFor(em, context, orderId, 'owner-or-admin');
      order.pay(context.actor);
      return order;
    });
  }
}
