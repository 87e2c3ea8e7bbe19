import { MikroORM } from '@mikro-orm/postgresql';
import { QueryHandler, type IQueryHandler } from '@nestjs/cqrs';
import { sql, type ExpressionBuilder, type SelectQueryBuilder } from 'kysely';
import { readDb, type ReadDb, type ReadModels } from '@emporium/database';
import { KeysetCursor } from '@emporium/projections';
import { Instrumented } from '@emporium/telemetry';
import { PRODUCT_COLUMNS, toProductView, type ProductRow, type ProductView } from '../product-view.js';
import { ListProducts, type ProductFilter, type ProductSort } from './list-products.query.js';

type Products = SelectQueryBuilder<ReadModels, 'read_catalog_products', ProductRow>;

/** How each sort orders the rows and pages through them: by its column, then by id. */
const SORTS = {
  newest: keyset('created_at', 'desc', new KeysetCursor(['instant', 'uuid']), (r) =>
    new Date(r.created_at).toISOString(),
  ),
  price_asc: keyset('price_cents', 'asc', new KeysetCursor(['integer', 'uuid']), (r) => r.price_cents),
  price_desc: keyset('price_cents', 'desc', new KeysetCursor(['integer', 'uuid']), (r) => r.price_cents),
  name: keyset('name', 'asc', new KeysetCursor(['text', 'uuid']), (r) => r.name),
} satisfies Record<ProductSort, unknown>;

function keyset<V extends string | number>(
  column: 'created_at' | 'price_cents' | 'name',
  direction: 'asc' | 'desc',
  cursor: KeysetCursor<readonly ['instant' | 'integer' | 'text', 'uuid']>,
  value: (row: ProductRow) => V,
) {
  return {
    cursor,
    /** The rows after the cursor's, in this order. */
    page(query: Products, raw: string | undefined, filter: ProductFilter): Products {
      const ordered = query.orderBy(column, direction).orderBy('id', direction);
      if (raw === undefined) return ordered;
      // The cursor's first value has this sort's kind (checked by decode), so it fits the column.
      const [after, id] = cursor.decode(raw, cursorFilter(filter));
      return ordered.where((eb) =>
        eb(eb.refTuple(column, 'id'), direction === 'desc' ? '<' : '>', eb.tuple(after as never, id)),
      );
    },
    next: (row: ProductRow, filter: ProductFilter): string =>
      cursor.encode(cursorFilter(filter), [value(row), row.id] as never),
  };
}

/** What a cursor is bound to: every filter but the page size, with the category as it matches. */
function cursorFilter(filter: ProductFilter): Record<string, string | number | boolean | undefined> {
  return {
    sort: filter.sort,
    category: filter.category?.toLowerCase(),
    minPriceCents: filter.minPriceCents,
    maxPriceCents: filter.maxPriceCents,
    q: filter.q,
    inStock: filter.inStock,
  };
}

/** The words of a search, each as a prefix (`coff` finds coffee), all required; none if it has no words. */
export function prefixQuery(q: string): string | undefined {
  const words = q
    .split(/\s+/)
    .filter((word) => !word.startsWith('-'))
    .flatMap((word) => word.match(/[\p{L}\p{N}]+/gu) ?? [])
    .filter((word) => word.toLowerCase() !== 'or');
  return words.length > 0 ? words.map((word) => `${word}:*`).join(' & ') : undefined;
}

/** Full-text match on the search vector (its GIN index): web-search syntax, or every word as a prefix. */
function matches(q: string) {
  return (eb: ExpressionBuilder<ReadModels, 'read_catalog_products'>) => {
    const prefixes = prefixQuery(q);
    const full = sql<string>`websearch_to_tsquery('english', ${q})`;
    return eb(
      'search',
      '@@',
      prefixes === undefined ? full : sql<string>`(${full} || to_tsquery('english', ${prefixes}))`,
    );
  };
}

/** Keyset pagination over the catalog read model: stable under inserts, O(limit) per page. */
@QueryHandler(ListProducts)
export class ListProductsHandler implements IQueryHandler<ListProducts> {
  private readonly db: ReadDb;

  constructor(orm: MikroORM) {
    this.db = readDb(orm);
  }

  @Instrumented('query')
  async execute({ filter }: ListProducts): Promise<{ items: ProductView[]; nextCursor: string | null }> {
    const sort = SORTS[filter.sort];
    // Values are parameters; the statement's text depends only on which filters are present, so
    // there are few of them, each a prepared statement (see readDb).
    let query: Products = this.db
      .selectFrom('read_catalog_products')
      .select(PRODUCT_COLUMNS)
      .where('status', '=', 'active');
    if (filter.category !== undefined) {
      const category = filter.category;
      query = query.where((eb) => eb(eb.fn('lower', ['category']), '=', eb.fn('lower', [eb.val(category)])));
    }
    if (filter.minPriceCents !== undefined) query = query.where('price_cents', '>=', filter.minPriceCents);
    if (filter.maxPriceCents !== undefined) query = query.where('price_cents', '<=', filter.maxPriceCents);
    if (filter.inStock === true) query = query.where('stock', '>', 0);
    if (filter.inStock === false) query = query.where('stock', '=', 0);
    if (filter.q !== undefined) query = query.where(matches(filter.q));
    const rows = await sort
      .page(query, filter.cursor, filter)
      .limit(filter.limit + 1)
      .execute();
    const page = rows.slice(0, filter.limit);
    const last = page.at(-1);
    return {
      items: page.map(toProductView),
      nextCursor: rows.length > filter.limit && last ? sort.next(last, filter) : null,
    };
  }
}
