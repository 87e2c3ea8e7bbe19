import { CommandHandler, type ICommandHandler } from '@nestjs/cqrs';
import { UnitOfWork, type CommandResult } from '@emporium/domain';
import { changeProduct } from '../product-change.js';
import { UpdateProduct } from './update-product.command.js';
import { Instrumented } from '@emporium/telemetry';

@CommandHandler(UpdateProduct)
export class UpdateProductHandler implements ICommandHandler<UpdateProduct> {
  constructor(private readonly uow: UnitOfWork) {}

  @Instrumented('command')
  execute({ context, productId, changes, expectedVersion }: UpdateProduct): Promise<CommandResult> {
    return changeProduct(this.uow, context, productId, expectedVersion, (p) => p.update(changes));
  }
}
