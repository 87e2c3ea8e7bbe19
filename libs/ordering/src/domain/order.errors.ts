import { DomainError } from '@emporium/domain';

export class OrderNotFound extends DomainError {
  readonly kind = 'not-found';
  readonly code = 'order-not-found';
  constructor(orderId: string) {
    super(`order ${orderId} does not exist`);
  }
}

export class InvalidOrderState extends DomainError {
  readonly kind = 'conflict';
  readonly code = 'invalid-order-state';
  constructor(orderId: string, action: string, status: string) {
    super(`order ${orderId} cannot be ${action}: it is ${status}`);
  }
}

export class PaymentNotOverdue extends DomainError {
  readonly kind = 'conflict';
  readonly code = 'payment-not-overdue';
  constructor(orderId: string) {
    super(`order ${orderId} is still within its payment period`);
  }
}

export class OutOfStock extends DomainError {
  readonly kind = 'conflict';
  readonly code = 'out-of-stock';
  constructor(readonly shortages: Array<{ productId: string; requested: number; available: number }>) {
    super(`not enough stock for ${shortages.map((s) => s.productId).join(', ')}`);
    Object.assign(this, { details: { products: shortages } });
  }
}

export class ProductsUnavailable extends DomainError {
  readonly kind = 'unprocessable';
  readonly code = 'products-unavailable';
  constructor(
    readonly unknown: string[],
    readonly discontinued: string[],
  ) {
    super(
      [
        unknown.length ? `unknown products: ${unknown.join(', ')}` : '',
        discontinued.length ? `discontinued products: ${discontinued.join(', ')}` : '',
      ]
        .filter(Boolean)
        .join('; '),
    );
    Object.assign(this, { details: { unknownProducts: unknown, discontinuedProducts: discontinued } });
  }
}

export class MixedCurrencies extends DomainError {
  readonly kind = 'unprocessable';
  readonly code = 'mixed-currencies';
  constructor(currencies: string[]) {
    super(`an order is paid in one currency; its products are priced in ${currencies.join(', ')}`);
  }
}

export class InvalidOrder extends DomainError {
  readonly kind = 'invalid';
  readonly code = 'invalid-order';
}
