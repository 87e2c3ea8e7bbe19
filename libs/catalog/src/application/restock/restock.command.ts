import { Command } from '@nestjs/cqrs';
import type { CommandContext, CommandResult } from '@emporium/domain';

export class Restock extends Command<CommandResult> {
  constructor(
    readonly context: CommandContext,
    readonly productId: string,
    readonly quantity: number,
    readonly expectedVersion?: number,
  ) {
    super();
  }
}
