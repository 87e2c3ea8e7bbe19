import type { ColumnType } from 'kysely';

/**
 * A `timestamptz` column: read as PostgreSQL's text form (the ORM's pool keeps date and time
 * values as strings; `new Date(value)` parses it), written as an ISO-8601 string or a Date.
 */
type Instant = ColumnType<string, string | Date, string | Date>;
/** A `bigint` column: pg returns int8 as a decimal string; written as a number. */
type BigIntColumn = ColumnType<string, number | string, number | string>;
/** A column PostgreSQL computes (`generated always as`): readable, never written. */
type Computed<T> = ColumnType<T, never, never>;

export interface CatalogProductsTable {
  id: string;
  sku: string;
  name: string;
  description: string;
  /** As the admin wrote it (trimmed); filtered case-insensitively through `lower(category)`. */
  category: string;
  price_cents: number;
  currency: string;
  stock: number;
  status: 'active' | 'discontinued';
  created_at: Instant;
  updated_at: Instant;
  version: number;
  /** Weighted full-text vector of name, category and description. */
  search: Computed<string>;
}

/** One row per category ever used, keyed case-insensitively; counts the active products in it. */
export interface CatalogCategoriesTable {
  /** `lower(name)`: "Electronics" and "electronics" are one category. */
  key: string;
  /** The spelling shown: the first in byte order of those used (capitals sort first). */
  name: string;
  product_count: number;
}

/** One line of `read_orders.lines`: the placed event's line as it was. */
export interface OrderLineRow {
  productId: string;
  name: string;
  category: string;
  quantity: number;
  unitPriceCents: number;
}

export type OrderStatusColumn = 'placed' | 'paid' | 'shipped' | 'cancelled';

export interface OrderTimelineRow {
  status: OrderStatusColumn;
  at: string;
}

export interface OrdersTable {
  id: string;
  customer_id: string;
  status: OrderStatusColumn;
  lines: ColumnType<OrderLineRow[], string, string>;
  total_cents: BigIntColumn;
  currency: string;
  placed_at: Instant;
  updated_at: Instant;
  timeline: ColumnType<OrderTimelineRow[], string, string>;
  version: number;
}

export interface SalesDailyTable {
  /** A UTC day, read and written as `YYYY-MM-DD`. */
  day: string;
  product_id: string;
  category: string;
  currency: string;
  units: number;
  revenue_cents: BigIntColumn;
}

/** The identity context's table, read (never written) by the login and "who am I" queries. */
export interface UsersTable {
  id: string;
  email: string;
  name: string;
  password_hash: string;
  roles: string[];
  created_at: Instant;
  stream_version: number;
}

/**
 * Every table the read side reads, and the projections write, with its columns: the one schema
 * `Kysely<ReadModels>` is typed by. The migrations are the source of truth; `READ_MODEL_COLUMNS`
 * below lists the same columns at run time, and a test compares them with the database.
 */
export interface ReadModels {
  read_catalog_products: CatalogProductsTable;
  read_catalog_categories: CatalogCategoriesTable;
  read_orders: OrdersTable;
  read_sales_daily: SalesDailyTable;
  users: UsersTable;
}

/** The columns of `ReadModels` at run time; the compiler holds it to exactly the interface's. */
export const READ_MODEL_COLUMNS = {
  read_catalog_products: {
    id: true,
    sku: true,
    name: true,
    description: true,
    category: true,
    price_cents: true,
    currency: true,
    stock: true,
    status: true,
    created_at: true,
    updated_at: true,
    version: true,
    search: true,
  },
  read_catalog_categories: { key: true, name: true, product_count: true },
  read_orders: {
    id: true,
    customer_id: true,
    status: true,
    lines: true,
    total_cents: true,
    currency: true,
    placed_at: true,
    updated_at: true,
    timeline: true,
    version: true,
  },
  read_sales_daily: { day: true, product_id: true, category: true, currency: true, units: true, revenue_cents: true },
  users: {
    id: true,
    email: true,
    name: true,
    password_hash: true,
    roles: true,
    created_at: true,
    stream_version: true,
  },
} as const satisfies { [T in keyof ReadModels]: Record<keyof ReadModels[T], true> };
