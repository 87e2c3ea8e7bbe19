import { Command } from '@nestjs/cqrs';
import type { CommandContext, CommandResult } from '@emporium/domain';

/** A new price in the product's own currency, in minor units. */
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
