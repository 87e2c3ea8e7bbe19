import { Money } from '@emporium/domain';
import type { OrderLineV1 } from '@emporium/contracts';
import { InvalidOrder } from './order.errors.js';

export const MAX_LINE_QUANTITY = 1000;

export interface NewOrderLine {
  productId: string;
  name: string;
  category: string;
  quantity: number;
  unitPrice: Money;
}

/** A product ordered: a snapshot of its name, category and price when the order was placed. */
export class OrderLine {
  private constructor(
    readonly productId: string,
    readonly name: string,
    readonly category: string,
    readonly quantity: number,
    readonly unitPrice: Money,
  ) {}

  static of({ productId, name, category, quantity, unitPrice }: NewOrderLine): OrderLine {
    assertLineQuantity(productId, quantity);
    if (unitPrice.isNegative()) throw new InvalidOrder(`product ${productId}: a price is never negative`);
    return new OrderLine(productId, name, category, quantity, unitPrice);
  }

  get total(): Money {
    return this.unitPrice.multiply(this.quantity);
  }

  /** The line as the OrderPlaced/OrderCancelled contract (v1) carries it. */
  toContract(): OrderLineV1 {
    return {
      productId: this.productId,
      name: this.name,
      category: this.category,
      quantity: this.quantity,
      unitPriceCents: this.unitPrice.minor,
    };
  }
}

/** The one rule for how much of one product an order takes: 1 to MAX_LINE_QUANTITY units. */
export function assertLineQuantity(productId: string, quantity: number): void {
  if (!Number.isSafeInteger(quantity) || quantity < 1 || quantity > MAX_LINE_QUANTITY) {
    throw new InvalidOrder(`product ${productId}: quantity must be an integer from 1 to ${MAX_LINE_QUANTITY}`);
  }
}
