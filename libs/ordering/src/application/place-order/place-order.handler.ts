import { CommandHandler, type ICommandHandler } from '@nestjs/cqrs';
import { StockReservation } from '@emporium/catalog';
import { UnitOfWork, type CommandResult } from '@emporium/domain';
import { Instrumented } from '@emporium/telemetry';
import { Order } from '../../domain/order.entity.js';
import { lockProducts } from '../order-change.js';
import { PlaceOrder } from './place-order.command.js';

/**
 * Places an order and reserves its stock in the same transaction, all or nothing. The rules
 * are the aggregates': which products can be ordered and how many are left (Product, through
 * StockReservation), lines and currency (Order). This only loads, calls them in order and
 * returns the order for the unit of work to persist with every event recorded.
 */
@CommandHandler(PlaceOrder)
export class PlaceOrderHandler implements ICommandHandler<PlaceOrder> {
  constructor(private readonly uow: UnitOfWork) {}

  @Instrumented('command')
  execute({ context, lines }: PlaceOrder): Promise<CommandResult> {
    const requested = Order.requestedQuantities(lines);
    return this.uow.execute(context, async (em) => {
      const products = await lockProducts(
        em,
        requested.map((r) => r.productId),
      );
      const reservation = StockReservation.of(requested, products);
      const order = new Order({
        id: crypto.randomUUID(),
        customerId: context.actor.id,
        lines: reservation.items.map(({ product, quantity }) => ({
          productId: product.id,
          name: product.name,
          category: product.category,
          quantity,
          unitPrice: product.price,
        })),
      });
      reservation.reserveFor(order.id);
      return order;
    });
  }
}
