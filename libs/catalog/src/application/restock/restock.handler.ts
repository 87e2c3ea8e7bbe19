import { CommandHandler, type ICommandHandler } from '@nestjs/cqrs';
import { UnitOfWork, type CommandResult } from '@emporium/domain';
import { changeProduct } from '../product-change.js';
import { Restock } from './restock.command.js';
import { Instrumented } from '@emporium/telemetry';

@CommandHandler(Restock)
export class RestockHandler implements ICommandHandler<Restock> {
  constructor(private readonly uow: UnitOfWork) {}

  @Instrumented('command')
  execute(command: Restock): Promise<CommandResult> {
    return changeProduct(this.uow, command.context, command.productId, command.expectedVersion, (p) =>
      p.restock(command.quantity),
    );
  }
}
