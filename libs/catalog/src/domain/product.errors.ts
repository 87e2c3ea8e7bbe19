import { DomainError } from '@emporium/domain';

/** How an error names a product: its id, and what a person recognises it by. */
export interface ProductReference {
  productId: string;
  sku: string;
  name: string;
}

const describe = (p: ProductReference): string => `${p.name} (SKU ${p.sku}, id ${p.productId})`;

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

/** The rule "a discontinued product is not changed any more" (admin changes). */
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

/**
 * The rule "only products that exist and are on sale can be reserved": the unknown ids, and the
 * discontinued products by id, SKU and name.
 */
export class ProductsUnavailable extends DomainError {
  readonly kind = 'unprocessable';
  readonly code = 'products-unavailable';
  constructor(
    readonly unknownProducts: readonly string[],
    readonly discontinuedProducts: readonly ProductReference[],
  ) {
    super(
      [
        unknownProducts.length ? `unknown products: ${unknownProducts.join(', ')}` : '',
        discontinuedProducts.length ? `discontinued products: ${discontinuedProducts.map(describe).join(', ')}` : '',
      ]
        .filter(Boolean)
        .join('; '),
    );
    Object.assign(this, { details: { unknownProducts, discontinuedProducts } });
  }
}

export interface StockShortage extends ProductReference {
  requested: number;
  available: number;
}

/** The rule "no more is reserved than is in stock": every short product, by id, SKU and name. */
export class OutOfStock extends DomainError {
  readonly kind = 'conflict';
  readonly code = 'out-of-stock';
  constructor(readonly shortages: readonly StockShortage[]) {
    super(
      `not enough stock: ${shortages.map((s) => `${describe(s)}: ${s.requested} requested, ${s.available} available`).join('; ')}`,
    );
    Object.assign(this, { details: { products: shortages } });
  }
}
