import { Query } from '@nestjs/cqrs';
import type { ProductView } from '../product-view.js';

export const PRODUCT_SORTS = ['newest', 'price_asc', 'price_desc', 'name'] as const;
export type ProductSort = (typeof PRODUCT_SORTS)[number];

export interface ProductFilter {
  category?: string;
  minPrice?: number;
  maxPrice?: number;
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
