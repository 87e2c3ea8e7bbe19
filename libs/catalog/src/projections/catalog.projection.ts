import { Injectable } from '@nestjs/common';
import { sql, type AliasedExpression } from 'kysely';
import { CatalogEvents, type DomainEvent } from '@emporium/contracts';
import type { ReadDb } from '@emporium/database';
import { byAggregate, recordset, type Projection } from '@emporium/projections';
import { notifyCatalogChanged } from './catalog-changes.js';

export const catalogProjectionEvents = Object.values(CatalogEvents);
type CatalogEvent = DomainEvent<(typeof catalogProjectionEvents)[number]>;

type ProductStatus = 'active' | 'discontinued';

/** One product's row after a run of its events: every column, or only those that changed. */
interface ProductChange {
  id: string;
  sku?: string;
  name?: string;
  description?: string;
  category?: string;
  price_cents?: number;
  currency?: string;
  stock?: number;
  status?: ProductStatus;
  created_at?: string;
  updated_at: string;
  version: number;
}

const PRODUCT_CHANGE = {
  id: 'uuid',
  sku: 'text',
  name: 'text',
  description: 'text',
  category: 'text',
  price_cents: 'int',
  currency: 'text',
  stock: 'int',
  status: 'text',
  created_at: 'timestamptz',
  updated_at: 'timestamptz',
  version: 'int',
} as const;

/** A change to one category's count of active products, under one of its spellings. */
interface CategoryDelta {
  name: string;
  n: number;
}

const CATEGORY_DELTA = { name: 'text', n: 'int' } as const;

/**
 * Product list and detail (one row per product, kept current by every catalog event), and the
 * categories that exist with their active products counted.
 *
 * A category is keyed by `lower(name)`. Its row exists once any product has used it, under any
 * spelling, even if no product is in it any more (the list shows those with products): which
 * rows exist then depends only on the events, never on how they were batched, so a rebuild
 * reproduces the table exactly. The name shown is the first spelling in byte order, for the
 * same reason.
 */
@Injectable()
export class CatalogProjection implements Projection<CatalogEvent['type']> {
  readonly name = 'catalog';
  readonly eventTypes = catalogProjectionEvents;
  readonly tables = ['read_catalog_products', 'read_catalog_categories'];

  /**
   * Each product's events folded into one row change: new rows inserted, the others updated,
   * and in the same statement the category counts they move. A batch of stock changes only
   * (what orders cause) leaves categories alone.
   */
  async apply(events: readonly CatalogEvent[], db: ReadDb): Promise<void> {
    const created: ProductChange[] = [];
    const changed: ProductChange[] = [];
    /** Count changes the events alone tell: +1 per new active product, 0 per spelling named (its row must exist). */
    const named: CategoryDelta[] = [];
    let movesCategories = false;
    for (const [id, stream] of byAggregate(events)) {
      const row: ProductChange = { id, updated_at: '', version: 0 };
      for (const event of stream) {
        fold(row, event);
        row.updated_at = event.occurredAt;
        row.version = event.aggregateVersion;
        if (event.type === CatalogEvents.ProductCreated || event.type === CatalogEvents.ProductUpdated) {
          if (event.payload.category !== undefined) named.push({ name: event.payload.category, n: 0 });
        }
      }
      if (row.created_at === undefined) {
        changed.push(row);
        movesCategories ||= row.category !== undefined || row.status !== undefined;
      } else {
        created.push(row);
        if (row.status === 'active') named.push({ name: row.category!, n: 1 });
      }
    }
    // Category rows are shared by many products: one statement per batch writes them, in key
    // order, so two transactions never lock them in opposite orders.
    if (created.length > 0 && movesCategories) {
      await insertProducts(db, created).execute();
    } else if (created.length > 0) {
      const { count } = await db
        .with('created', () => insertProducts(db, created))
        .with('counted', () => upsertCategories(db, recordset('d', named, CATEGORY_DELTA)))
        .selectFrom('created')
        .select((eb) => eb.fn.countAll<string>().as('count'))
        .executeTakeFirstOrThrow();
      if (Number(count) !== created.length) throw new Error('catalog rows were not all inserted');
    }
    if (changed.length > 0) {
      const updated = movesCategories
        ? await this.updateMovingCategories(db, changed, named)
        : Number((await updateProducts(db, changed).executeTakeFirstOrThrow()).numUpdatedRows);
      if (updated !== changed.length) {
        // An event of a product whose creation is not applied: cannot happen in version order.
        throw new Error(`catalog rows are missing for ${changed.length - updated} product(s)`);
      }
    }

    // Cache invalidation for the api replicas: delivered only if this transaction commits.
    await notifyCatalogChanged(
      [...created, ...changed].map((row) => row.id),
      db,
    );
  }

  /**
   * The update that also moves counts between categories, in one statement: each changed row is
   * read as it was (`o`) and as it is now (`p`); a product leaves its old category's count if it
   * was active there and joins its new one's if it is active now.
   */
  private async updateMovingCategories(db: ReadDb, changed: ProductChange[], named: CategoryDelta[]): Promise<number> {
    const { count } = await db
      .with('moved', () =>
        updateProducts(db, changed)
          .innerJoin('read_catalog_products as o', 'o.id', 'r.id')
          .returning(['o.category as old_category', 'o.status as old_status', 'p.category', 'p.status']),
      )
      .with('counted', (q) =>
        upsertCategories(
          db,
          q
            .selectFrom('moved')
            .select(['old_category as name', sql<number>`-1`.as('n')])
            .where('old_status', '=', 'active')
            .where((eb) => eb.or([eb('old_category', '<>', eb.ref('category')), eb('status', '<>', 'active')]))
            .unionAll(
              q
                .selectFrom('moved')
                .select(['category as name', sql<number>`1`.as('n')])
                .where('status', '=', 'active')
                .where((eb) => eb.or([eb('old_category', '<>', eb.ref('category')), eb('old_status', '<>', 'active')])),
            )
            .unionAll(q.selectFrom(recordset('d', named, CATEGORY_DELTA)).select(['name', 'n']))
            .as('d'),
        ),
      )
      .selectFrom('moved')
      .select((eb) => eb.fn.countAll<string>().as('count'))
      .executeTakeFirstOrThrow();
    return Number(count);
  }
}

const PRODUCT_COLUMNS = [
  'id',
  'sku',
  'name',
  'description',
  'category',
  'price_cents',
  'currency',
  'stock',
  'status',
  'created_at',
  'updated_at',
  'version',
] as const;

/** New products, inserted in id order. */
function insertProducts(db: ReadDb, created: ProductChange[]) {
  return db
    .insertInto('read_catalog_products')
    .columns(PRODUCT_COLUMNS)
    .expression(
      db
        .selectFrom(recordset('r', created, PRODUCT_CHANGE))
        .select(PRODUCT_COLUMNS)
        .orderBy('id'),
    )
    .returning('id');
}

/** Changed products: each column the events set, the others as they were. */
function updateProducts(db: ReadDb, changed: ProductChange[]) {
  return db
    .updateTable('read_catalog_products as p')
    .from(recordset('r', changed, PRODUCT_CHANGE))
    .set((eb) => ({
      name: eb.fn.coalesce('r.name', 'p.name'),
      description: eb.fn.coalesce('r.description', 'p.description'),
      category: eb.fn.coalesce('r.category', 'p.category'),
      price_cents: eb.fn.coalesce('r.price_cents', 'p.price_cents'),
      stock: eb.fn.coalesce('r.stock', 'p.stock'),
      status: eb.fn.coalesce('r.status', 'p.status'),
      updated_at: eb.ref('r.updated_at'),
      version: eb.ref('r.version'),
    }))
    .whereRef('p.id', '=', 'r.id');
}

/**
 * Count changes summed per category key and added to its row, created if it is new, in key
 * order: the rows are shared by many products, so two transactions lock them in the same order.
 */
function upsertCategories(db: ReadDb, deltas: AliasedExpression<CategoryDelta, 'd'>) {
  return db
    .insertInto('read_catalog_categories')
    .columns(['key', 'name', 'product_count'])
    .expression(
      db
        .selectFrom(deltas)
        .select((eb) => [
          eb.fn<string>('lower', ['d.name']).as('key'),
          sql<string>`min(d.name collate "C")`.as('name'),
          sql<number>`sum(d.n)::int`.as('product_count'),
        ])
        .groupBy(sql`lower(d.name)`)
        .orderBy('key'),
    )
    .onConflict((oc) =>
      oc.column('key').doUpdateSet((eb) => ({
        product_count: eb('read_catalog_categories.product_count', '+', eb.ref('excluded.product_count')),
        name: sql<string>`least(read_catalog_categories.name collate "C", excluded.name collate "C")`,
      })),
    );
}

function fold(row: ProductChange, event: CatalogEvent): void {
  switch (event.type) {
    case CatalogEvents.ProductCreated: {
      const p = event.payload;
      Object.assign(row, {
        sku: p.sku,
        name: p.name,
        description: p.description,
        category: p.category,
        price_cents: p.priceCents,
        currency: p.currency,
        stock: p.stock,
        status: p.status,
        created_at: event.occurredAt,
      });
      return;
    }
    case CatalogEvents.ProductUpdated:
      Object.assign(row, {
        name: event.payload.name,
        description: event.payload.description,
        category: event.payload.category,
      });
      return;
    case CatalogEvents.PriceChanged:
      row.price_cents = event.payload.priceCents;
      return;
    case CatalogEvents.Restocked:
    case CatalogEvents.StockReserved:
    case CatalogEvents.StockReleased:
      row.stock = event.payload.stock;
      return;
    case CatalogEvents.Discontinued:
      row.status = 'discontinued';
      return;
  }
}
