import { Command } from '@nestjs/cqrs';
import type { CommandContext, CommandResult } from '@emporium/domain';

export class UpdateProduct extends Command<CommandResult> {
  constructor(
    readonly context: CommandContext,
    readonly productId: string,
    readonly changes: { name?: string; description?: string; category?: string },
    readonly expectedVersion?: number,
  ) {
    super();
  }
}
