import { Command } from '@nestjs/cqrs';
import type { CommandContext, CommandResult } from '@emporium/messaging';

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
