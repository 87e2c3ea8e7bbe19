import { LockMode } from '@mikro-orm/postgresql';
import { CommandHandler, type ICommandHandler } from '@nestjs/cqrs';
import { Product } from '@emporium/catalog';
import { UnitOfWork, type CommandResult } from '@emporium/domain';
import { MAX_LINE_QUANTITY, Order } from '../../domain/order.entity.js';
import { InvalidOrder, MixedCurrencies, OutOfStock, ProductsUnavailable } from '../../domain/order.errors.js';
import { PlaceOrder } from './place-order.command.js';
import { Instrumented } from '@emporium/telemetry';

/**
 * Places an order and reserves stock on every product in the same transaction, all or nothing.
 * Products are locked `FOR UPDATE` in id order: concurrent orders for a hot product queue on
 * the row instead of failing optimistic checks, and two orders can never deadlock.
 */
@CommandHandler(PlaceOrder)
export class PlaceOrderHandler implements ICommandHandler<PlaceOrder> {
  constructor(private readonly uow: UnitOfWork) {}

  @Instrumented('command')
  execute({ context, lines }: PlaceOrder): Promise<CommandResult> {
    const quantities = new Map<string, number>();
    for (const line of lines) quantities.set(line.productId, (quantities.get(line.productId) ?? 0) + line.quantity);
    for (const [productId, quantity] of quantities) {
      if (quantity > MAX_LINE_QUANTITY) {
        throw new InvalidOrder(`product ${productId}: at most ${MAX_LINE_QUANTITY} units per order`);
      }
    }
    const ids = [...quantities.keys()].sort();

    return this.uow.execute(context, async (em) => {
      const products = await em.find(
        Product,
        { id: { $in: ids } },
        { lockMode: LockMode.PESSIMISTIC_WRITE, orderBy: { id: 'asc' } },
      );
      const byId = new Map(products.map((p) => [p.id, p]));
      const unknown = ids.filter((id) => !byId.has(id));
      const discontinued = products.filter((p) => !p.isActive).map((p) => p.id);
      if (unknown.length || discontinued.length) throw new ProductsUnavailable(unknown, discontinued);

      const currencies = [...new Set(products.map((p) => p.currency))];
      if (currencies.length > 1) throw new MixedCurrencies(currencies);

      const shortages = products
        .filter((p) => p.stock < quantities.get(p.id)!)
        .map((p) => ({ productId: p.id, requested: quantities.get(p.id)!, available: p.stock }));
      if (shortages.length) throw new OutOfStock(shortages);

      const order = new Order({
        id: crypto.randomUUID(),
        customerId: context.actor.id,
        currency: currencies[0],
        lines: ids.map((id) => {
          const p = byId.get(id)!;
          return {
            productId: id,
            name: p.name,
            category: p.category,
            quantity: quantities.get(id)!,
            unitPriceCents: p.priceCents,
          };
        }),
      });
      for (const p of products) p.reserve(order.id, quantities.get(p.id)!);
      return order;
    });
  }
}
