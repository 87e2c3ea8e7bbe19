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

/** The rule "only the customer who placed an order pays it", for those who may see it (admins). */
export class OnlyOwnerPays extends DomainError {
  readonly kind = 'forbidden';
  readonly code = 'only-owner-pays';
  constructor(orderId: string) {
    super(`only the customer who placed order ${orderId} can pay it`);
  }
}

/** The rule "an order is paid in one currency". */
export class MixedCurrencies extends DomainError {
  readonly kind = 'unprocessable';
  readonly code = 'mixed-currencies';
  constructor(currencies: readonly string[]) {
    super(`an order is paid in one currency; its products are priced in ${currencies.join(', ')}`);
  }
}

export class InvalidOrder extends DomainError {
  readonly kind = 'invalid';
  readonly code = 'invalid-order';
}

export class PaymentNotOverdue extends DomainError {
  readonly kind = 'conflict';
  readonly code = 'payment-not-overdue';
  constructor(orderId: string) {
    super(`order ${orderId} is still within its payment period`);
  }
}
