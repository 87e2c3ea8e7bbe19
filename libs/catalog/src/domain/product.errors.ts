import { DomainError } from '@emporium/domain';

export class ProductNotFound extends DomainError {
  readonly kind = 'not-found';
  readonly code = 'product-not-found';
  constructor(readonly productId: string) {
    super(`product ${productId} does not exist`);
  }
}

export class InvalidProduct extends DomainError {
  readonly kind = 'invalid';
  readonly code = 'invalid-product';
}

export class ProductDiscontinued extends DomainError {
  readonly kind = 'conflict';
  readonly code = 'product-discontinued';
  constructor(readonly productId: string) {
    super(`product ${productId} is discontinued`);
  }
}

export class StaleProductVersion extends DomainError {
  readonly kind = 'precondition-failed';
  readonly code = 'stale-version';
  constructor(expected: number, actual: number) {
    super(`If-Match version ${expected} is stale: the product is at version ${actual}`);
  }
}

export class DuplicateSku extends DomainError {
  readonly kind = 'conflict';
  readonly code = 'duplicate-sku';
  constructor(sku: string) {
    super(`a product with SKU ${sku} already exists`);
  }
}

export class InsufficientStock extends DomainError {
  readonly kind = 'conflict';
  readonly code = 'insufficient-stock';
  constructor(
    readonly productId: string,
    readonly requested: number,
    readonly available: number,
  ) {
    super(`product ${productId}: ${requested} requested, ${available} available`);
  }
}
