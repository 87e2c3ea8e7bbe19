import { CommandHandler, type ICommandHandler } from '@nestjs/cqrs';
import { isUniqueViolation } from '@emporium/database';
import { Money, UnitOfWork, type CommandResult } from '@emporium/domain';
import { Product } from '../../domain/product.entity.js';
import { DuplicateSku } from '../../domain/product.errors.js';
import { CreateProduct } from './create-product.command.js';
import { Instrumented } from '@emporium/telemetry';

@CommandHandler(CreateProduct)
export class CreateProductHandler implements ICommandHandler<CreateProduct> {
  constructor(private readonly uow: UnitOfWork) {}

  @Instrumented('command')
  async execute({ context, product }: CreateProduct): Promise<CommandResult> {
    const { priceCents, currency, ...fields } = product;
    try {
      return await this.uow.execute(
        context,
        async () => new Product({ id: crypto.randomUUID(), ...fields, price: Money.of(priceCents, currency) }),
      );
    } catch (error) {
      if (isUniqueViolation(error, 'products_sku_key')) throw new DuplicateSku(product.sku);
      throw error;
    }
  }
}
