import { Query } from '@nestjs/cqrs';

export interface CategoryView {
  /** As products spell it (the first spelling in byte order when several are in use). */
  name: string;
  /** Active products in it. */
  productCount: number;
}

/** The most categories one answer lists. */
export const MAX_CATEGORIES = 1000;

/** The categories that have active products, by name. */
export class ListCategories extends Query<{ items: CategoryView[] }> {}
