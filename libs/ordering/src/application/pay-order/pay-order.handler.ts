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
      const order = await loadOrderFor(em, context, orderId, 'owner');
      order.pay();
      return order;
    });
  }
}
