import { Command } from '@nestjs/cqrs';
import type { CommandContext, CommandResult } from '@emporium/domain';
import type { NewProduct } from '../../domain/product.entity.js';

export class CreateProduct extends Command<CommandResult> {
  constructor(
    readonly context: CommandContext,
    readonly product: Omit<NewProduct, 'id'>,
  ) {
    super();
  }
}
