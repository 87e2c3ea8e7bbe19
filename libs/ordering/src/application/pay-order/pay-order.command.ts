import { Command } from '@nestjs/cqrs';
import type { CommandContext, CommandResult } from '@emporium/domain';

export class PayOrder extends Command<CommandResult> {
  constructor(
    readonly context: CommandContext,
    readonly orderId: string,
  ) {
    super();
  }
}
