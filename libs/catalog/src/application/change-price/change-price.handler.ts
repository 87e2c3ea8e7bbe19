import { CommandHandler, type ICommandHandler } from '@nestjs/cqrs';
import { Money, UnitOfWork, type CommandResult } from '@emporium/domain';
import { changeProduct } from '../product-change.js';
import { ChangePrice } from './change-price.command.js';
import { Instrumented } from '@emporium/telemetry';

@CommandHandler(ChangePrice)
export class ChangePriceHandler implements ICommandHandler<ChangePrice> {
  constructor(private readonly uow: UnitOfWork) {}

  @Instrumented('command')
  execute(command: ChangePrice): Promise<CommandResult> {
    return changeProduct(this.uow, command.context, command.productId, command.expectedVersion, (p) =>
      p.changePrice(Money.of(command.priceCents, p.price.currency)),
    );
  }
}
