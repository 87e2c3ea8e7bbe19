import { DomainError } from '@emporium/domain';

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
  inStock: boolean;
  status: string;
  version: number;
  updatedAt: string;
}

export interface ProductRow {
  id: string;
  sku: string;
  name: string;
  description: string;
  category: string;
  price_cents: number;
  currency: string;
  stock: number;
  status: string;
  version: number;
  created_at: Date;
  updated_at: Date;
}

export const PRODUCT_COLUMNS =
  'id, sku, name, description, category, price_cents, currency, stock, status, version, created_at, updated_at';

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
    inStock: row.stock > 0,
    status: row.status,
    version: row.version,
    updatedAt: new Date(row.updated_at).toISOString(),
  };
}

export class InvalidCursor extends DomainError {
  readonly kind = 'invalid';
  readonly code = 'invalid-cursor';
  constructor() {
    super('cursor is malformed or was issued for another sort order');
  }
}
