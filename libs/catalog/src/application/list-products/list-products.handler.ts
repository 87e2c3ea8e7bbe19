import { createHash } from 'node:crypto';
import { MikroORM } from '@mikro-orm/postgresql';
import { QueryHandler, type IQueryHandler } from '@nestjs/cqrs';
import { readQuery } from '@emporium/database';
import { InvalidCursor, PRODUCT_COLUMNS, toProductView, type ProductRow, type ProductView } from '../product-view.js';
import { ListProducts, type ProductSort } from './list-products.query.js';
import { Instrumented } from '@emporium/telemetry';

interface SortSpec {
  column: string;
  descending: boolean;
  value: (row: ProductRow) => string | number;
}

const SORTS: Record<ProductSort, SortSpec> = {
  newest: { column: 'created_at', descending: true, value: (r) => new Date(r.created_at).toISOString() },
  price_asc: { column: 'price_cents', descending: false, value: (r) => r.price_cents },
  price_desc: { column: 'price_cents', descending: true, value: (r) => r.price_cents },
  name: { column: 'name', descending: false, value: (r) => r.name },
};

interface Cursor {
  s: ProductSort;
  v: string | number;
  id: string;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const ISO_INSTANT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?Z$/;

function encodeCursor(cursor: Cursor): string {
  return Buffer.from(JSON.stringify(cursor)).toString('base64url');
}

function decodeCursor(raw: string, sort: ProductSort): Cursor {
  try {
    const cursor = JSON.parse(Buffer.from(raw, 'base64url').toString('utf8')) as Cursor;
    const numeric = sort === 'price_asc' || sort === 'price_desc';
    const valueOk =
      sort === 'newest'
        ? typeof cursor.v === 'string' && ISO_INSTANT.test(cursor.v) && !Number.isNaN(Date.parse(cursor.v))
        : numeric
          ? Number.isSafeInteger(cursor.v)
          : typeof cursor.v === 'string' && cursor.v.length <= 200;
    if (cursor.s !== sort || !valueOk || typeof cursor.id !== 'string' || !UUID.test(cursor.id)) {
      throw new InvalidCursor();
    }
    return cursor;
  } catch {
    throw new InvalidCursor();
  }
}

/** Keyset pagination over the catalog read model: stable under inserts, O(limit) per page. */
@QueryHandler(ListProducts)
export class ListProductsHandler implements IQueryHandler<ListProducts> {
  constructor(private readonly orm: MikroORM) {}

  @Instrumented('query')
  async execute({ filter }: ListProducts): Promise<{ items: ProductView[]; nextCursor: string | null }> {
    const spec = SORTS[filter.sort];
    // Plain parameterised SQL: every value is a $n parameter; only fixed fragments are joined. The
    // text depends only on which filters are present, so it names a prepared statement.
    const values: unknown[] = [];
    const param = (value: unknown): string => `$${values.push(value)}`;
    const where: string[] = [`status = 'active'`];
    if (filter.category !== undefined) where.push(`category = ${param(filter.category)}`);
    if (filter.minPrice !== undefined) where.push(`price_cents >= ${param(filter.minPrice)}`);
    if (filter.maxPrice !== undefined) where.push(`price_cents <= ${param(filter.maxPrice)}`);
    if (filter.inStock === true) where.push(`stock > 0`);
    if (filter.inStock === false) where.push(`stock = 0`);
    if (filter.q !== undefined) where.push(`search @@ websearch_to_tsquery('english', ${param(filter.q)})`);
    if (filter.cursor !== undefined) {
      const cursor = decodeCursor(filter.cursor, filter.sort);
      const value = spec.column === 'created_at' ? `${param(cursor.v)}::timestamptz` : param(cursor.v);
      where.push(`(${spec.column}, id) ${spec.descending ? '<' : '>'} (${value}, ${param(cursor.id)}::uuid)`);
    }
    const direction = spec.descending ? 'desc' : 'asc';
    const text = `select ${PRODUCT_COLUMNS} from read_catalog_products
       where ${where.join(' and ')}
       order by ${spec.column} ${direction}, id ${direction}
       limit ${param(filter.limit + 1)}`;
    const rows = await readQuery<ProductRow>(this.orm, `catalog.products:${statementKey(text)}`, text, values);
    const page = rows.slice(0, filter.limit);
    const last = page.at(-1);
    const nextCursor =
      rows.length > filter.limit && last ? encodeCursor({ s: filter.sort, v: spec.value(last), id: last.id }) : null;
    return { items: page.map(toProductView), nextCursor };
  }
}

/** A short stable name for one statement text (PostgreSQL truncates names at 63 bytes). */
const statementKeys = new Map<string, string>();
function statementKey(text: string): string {
  let key = statementKeys.get(text);
  if (key === undefined) {
    key = createHash('sha1').update(text).digest('hex').slice(0, 16);
    statementKeys.set(text, key);
  }
  return key;
}
