import type { Product } from './product.entity.js';
import { OutOfStock, ProductsUnavailable, type StockShortage } from './product.errors.js';

/** So many units of one product (each product once). */
export interface StockRequest {
  productId: string;
  quantity: number;
}

/**
 * Stock for one order across several products, all or nothing. The rules are Product's own
 * (`reserve`, `shortfall`, `isActive`); this service applies them to every product first, so a
 * refusal names every product it concerns and nothing is reserved unless everything can be.
 * Callers load the products locked (`FOR UPDATE`, in id order) in the transaction that uses it.
 */
export class StockReservation {
  private constructor(readonly items: ReadonlyArray<{ product: Product; quantity: number }>) {}

  /**
   * Matches each request with its product. Unknown ids and discontinued products are refused
   * together with ProductsUnavailable.
   */
  static of(requests: readonly StockRequest[], products: readonly Product[]): StockReservation {
    const byId = new Map(products.map((p) => [p.id, p]));
    if (new Set(requests.map((r) => r.productId)).size !== requests.length) {
      throw new Error('a stock reservation asks for each product once');
    }
    const unknown = requests.filter((r) => !byId.has(r.productId)).map((r) => r.productId);
    const discontinued = requests
      .map((r) => byId.get(r.productId))
      .filter((p): p is Product => p !== undefined && !p.isActive)
      .map((p) => p.reference);
    if (unknown.length || discontinued.length) throw new ProductsUnavailable(unknown, discontinued);
    return new StockReservation(requests.map((r) => ({ product: byId.get(r.productId)!, quantity: r.quantity })));
  }

  /** Reserves every item for the order, or none: OutOfStock names every product that is short. */
  reserveFor(orderId: string): void {
    const shortages = this.items
      .map(({ product, quantity }) => product.shortfall(quantity))
      .filter((s): s is StockShortage => s !== undefined);
    if (shortages.length) throw new OutOfStock(shortages);
    for (const { product, quantity } of this.items) product.reserve(orderId, quantity);
  }

  /** Gives back what an order reserved (a cancellation): every product must still be there. */
  static release(orderId: string, returned: readonly StockRequest[], products: readonly Product[]): void {
    const byId = new Map(products.map((p) => [p.id, p]));
    for (const { productId, quantity } of returned) {
      const product = byId.get(productId);
      if (!product) throw new Error(`product ${productId} of order ${orderId} is missing from the catalog`);
      product.release(orderId, quantity);
    }
  }
}
