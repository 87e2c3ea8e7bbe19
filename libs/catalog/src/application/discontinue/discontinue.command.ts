import { Command } from '@nestjs/cqrs';
import type { CommandContext, CommandResult } from '@emporium/domain';

export class Discontinue extends Command<CommandResult> {
  constructor(
    readonly context: CommandContext,
    readonly productId: string,
    readonly expectedVersion?: number,
  ) {
    super();
  }
}
