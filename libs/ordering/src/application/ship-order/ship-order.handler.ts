import { CommandHandler, type ICommandHandler } from '@nestjs/cqrs';
import { UnitOfWork, type CommandResult } from '@emporium/domain';
import { loadOrderFor } from '../order-change.js';
import { ShipOrder } from './ship-order.command.js';
import { Instrumented } from '@emporium/telemetry';

@CommandHandler(ShipOrder)
export class ShipOrderHandler implements ICommandHandler<ShipOrder> {
  constructor(private readonly uow: UnitOfWork) {}

  @Instrumented('command')
  execute({ context, orderId }: ShipOrder): Promise<CommandResult> {
    return this.uow.execute(context, async (em) => {
      const order = await loadOrderFor(em, context, orderId, 'admin');
      order.ship();
      return order;
    });
  }
}
