import type { CatalogProductsTable } from '@emporium/database';
import type { Selectable } from 'kysely';

/** A product as the catalog read model serves it. */
export interface ProductView {
  id: string;
  sku: string;
  name: string;
  description: string;
  category: string;
  priceCents: number;
  currency: string;
  stock: number;
  /** Can be ordered now: active and with stock left (a discontinued product never is). */
  inStock: boolean;
  status: string;
  version: number;
  updatedAt: string;
}

/** The columns a product view is made of (the search vector and creation time stay behind). */
export const PRODUCT_COLUMNS = [
  'id',
  'sku',
  'name',
  'description',
  'category',
  'price_cents',
  'currency',
  'stock',
  'status',
  'version',
  'created_at',
  'updated_at',
] as const satisfies ReadonlyArray<keyof CatalogProductsTable>;

export type ProductRow = Pick<Selectable<CatalogProductsTable>, (typeof PRODUCT_COLUMNS)[number]>;

export function toProductView(row: ProductRow): ProductView {
  return {
    id: row.id,
    sku: row.sku,
    name: row.name,
    description: row.description,
    category: row.category,
    priceCents: row.price_cents,
    currency: row.currency,
    stock: row.stock,
    inStock: row.status === 'active' && row.stock > 0,
    status: row.status,
    version: row.version,
    updatedAt: new Date(row.updated_at).toISOString(),
  };
}
