import { Command } from '@nestjs/cqrs';
import type { CommandContext, CommandResult } from '@emporium/domain';

export class ChangePrice extends Command<CommandResult> {
  constructor(
    readonly context: CommandContext,
    readonly productId: string,
    readonly priceCents: number,
    readonly expectedVersion?: number,
  ) {
    super();
  }
}
