import { Command } from '@nestjs/cqrs';
import type { CommandContext, CommandResult } from '@emporium/domain';

export class PlaceOrder extends Command<CommandResult> {
  constructor(
    readonly context: CommandContext,
    readonly lines: ReadonlyArray<{ productId: string; quantity: number }>,
  ) {
    super();
  }
}
