import { Command } from '@nestjs/cqrs';
import type { CommandContext, CommandResult } from '@emporium/domain';

/** What a new product is made of, as clients send it (the price as minor units and currency). */
export interface ProductFields {
  sku: string;
  name: string;
  description: string;
  category: string;
  priceCents: number;
  currency: string;
  stock: number;
}

export class CreateProduct extends Command<CommandResult> {
  constructor(
    readonly context: CommandContext,
    readonly product: ProductFields,
  ) {
    super();
  }
}
