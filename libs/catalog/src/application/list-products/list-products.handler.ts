import { MikroORM } from '@mikro-orm/postgresql';
import { QueryHandler, type IQueryHandler } from '@nestjs/cqrs';
import { sql, type RawBuilder } from 'kysely';
import { InvalidCursor, PRODUCT_COLUMNS, toProductView, type ProductRow, type ProductView } from '../product-view.js';
import { ListProducts, type ProductSort } from './list-products.query.js';
import { Traced } from '@emporium/telemetry';

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

  @Traced('query')
  async execute({ filter }: ListProducts): Promise<{ items: ProductView[]; nextCursor: string | null }> {
    const spec = SORTS[filter.sort];
    const where: RawBuilder<unknown>[] = [sql`status = 'active'`];
    if (filter.category !== undefined) where.push(sql`category = ${filter.category}`);
    if (filter.minPrice !== undefined) where.push(sql`price_cents >= ${filter.minPrice}`);
    if (filter.maxPrice !== undefined) where.push(sql`price_cents <= ${filter.maxPrice}`);
    if (filter.inStock === true) where.push(sql`stock > 0`);
    if (filter.inStock === false) where.push(sql`stock = 0`);
    if (filter.q !== undefined) where.push(sql`search @@ websearch_to_tsquery('english', ${filter.q})`);
    if (filter.cursor !== undefined) {
      const cursor = decodeCursor(filter.cursor, filter.sort);
      const value = spec.column === 'created_at' ? sql`${cursor.v}::timestamptz` : sql`${cursor.v}`;
      where.push(
        spec.descending
          ? sql`(${sql.ref(spec.column)}, id) < (${value}, ${cursor.id}::uuid)`
          : sql`(${sql.ref(spec.column)}, id) > (${value}, ${cursor.id}::uuid)`,
      );
    }
    const direction = spec.descending ? sql`desc` : sql`asc`;
    const { rows } = await sql<ProductRow>`
      select ${sql.raw(PRODUCT_COLUMNS)} from read_catalog_products
       where ${sql.join(where, sql` and `)}
       order by ${sql.ref(spec.column)} ${direction}, id ${direction}
       limit ${filter.limit + 1}`.execute(this.orm.em.fork().getKysely());
    const page = rows.slice(0, filter.limit);
    const last = page.at(-1);
    const nextCursor =
      rows.length > filter.limit && last ? encodeCursor({ s: filter.sort, v: spec.value(last), id: last.id }) : null;
    return { items: page.map(toProductView), nextCursor };
  }
}
