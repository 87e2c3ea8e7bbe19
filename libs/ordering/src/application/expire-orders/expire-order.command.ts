import { Command } from '@nestjs/cqrs';
import type { CommandContext, CommandResult } from '@emporium/domain';

/** The system cancels an order whose payment is overdue at `now` (reason `payment-timeout`). */
export class ExpireOrder extends Command<CommandResult> {
  constructor(
    readonly context: CommandContext,
    readonly orderId: string,
    readonly now: Date,
    readonly timeoutMs: number,
  ) {
    super();
  }
}
