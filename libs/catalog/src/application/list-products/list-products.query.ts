import { Query } from '@nestjs/cqrs';
import type { ProductView } from '../product-view.js';

export const PRODUCT_SORTS = ['newest', 'price_asc', 'price_desc', 'name'] as const;
export type ProductSort = (typeof PRODUCT_SORTS)[number];

export interface ProductFilter {
  /** Matched case-insensitively: "electronics" finds the products of "Electronics". */
  category?: string;
  /** Inclusive bounds in minor units (cents), like `priceCents`. */
  minPriceCents?: number;
  maxPriceCents?: number;
  /** Web-search syntax over name, category and description; each word also matches as a prefix. */
  q?: string;
  inStock?: boolean;
  sort: ProductSort;
  limit: number;
  cursor?: string;
}

export class ListProducts extends Query<{ items: ProductView[]; nextCursor: string | null }> {
  constructor(readonly filter: ProductFilter) {
    super();
  }
}
