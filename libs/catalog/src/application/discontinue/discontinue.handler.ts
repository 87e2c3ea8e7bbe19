import { CommandHandler, type ICommandHandler } from '@nestjs/cqrs';
import { UnitOfWork, type CommandResult } from '@emporium/domain';
import { changeProduct } from '../product-change.js';
import { Discontinue } from './discontinue.command.js';
import { Instrumented } from '@emporium/telemetry';

@CommandHandler(Discontinue)
export class DiscontinueHandler implements ICommandHandler<Discontinue> {
  constructor(private readonly uow: UnitOfWork) {}

  @Instrumented('command')
  execute(command: Discontinue): Promise<CommandResult> {
    return changeProduct(this.uow, command.context, command.productId, command.expectedVersion, (p) => p.discontinue());
  }
}
