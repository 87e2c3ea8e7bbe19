import { Command } from '@nestjs/cqrs';
import type { CommandContext, CommandResult } from '@emporium/messaging';

export class ShipOrder extends Command<CommandResult> {
  constructor(
    readonly context: CommandContext,
    readonly orderId: string,
  ) {
    super();
  }
}
