import { Injectable } from '@nestjs/common';
import { sql } from 'kysely';
import { CatalogEvents, type DomainEvent } from '@emporium/contracts';
import { byAggregate, type Db, type Projection } from '@emporium/projections';
import { notifyCatalogChanged } from './catalog-changes.js';

export const catalogProjectionEvents = Object.values(CatalogEvents);
type CatalogEvent = DomainEvent<(typeof catalogProjectionEvents)[number]>;

/** One product's row after a run of its events: every column, or only those that changed. */
interface ProductRow {
  id: string;
  sku?: string;
  name?: string;
  description?: string;
  category?: string;
  price_cents?: number;
  currency?: string;
  stock?: number;
  status?: string;
  created_at?: string;
  updated_at: string;
  version: number;
}

/** Product list and detail: one row per product, kept current by every catalog event. */
@Injectable()
export class CatalogProjection implements Projection<CatalogEvent['type']> {
  readonly name = 'catalog';
  readonly eventTypes = catalogProjectionEvents;
  readonly tables = ['read_catalog_products'];

  /** Each product's events folded into one row change: new rows inserted, the others updated. */
  async apply(events: readonly CatalogEvent[], db: Db): Promise<void> {
    const created: ProductRow[] = [];
    const changed: ProductRow[] = [];
    for (const [id, stream] of byAggregate(events)) {
      const row: ProductRow = { id, updated_at: '', version: 0 };
      for (const event of stream) {
        fold(row, event);
        row.updated_at = event.occurredAt;
        row.version = event.aggregateVersion;
      }
      (row.created_at === undefined ? changed : created).push(row);
    }
    if (created.length > 0) {
      await sql`insert into read_catalog_products
          (id, sku, name, description, category, price_cents, currency, stock, status, created_at, updated_at, version)
        select id, sku, name, description, category, price_cents, currency, stock, status, created_at, updated_at, version
          from jsonb_to_recordset(${JSON.stringify(created)}::jsonb) as r(id uuid, sku text, name text,
               description text, category text, price_cents int, currency text, stock int, status text,
               created_at timestamptz, updated_at timestamptz, version int)
         order by id`.execute(db);
    }
    if (changed.length > 0) {
      const result = await sql`update read_catalog_products p
          set name = coalesce(r.name, p.name), description = coalesce(r.description, p.description),
              category = coalesce(r.category, p.category), price_cents = coalesce(r.price_cents, p.price_cents),
              stock = coalesce(r.stock, p.stock), status = coalesce(r.status, p.status),
              updated_at = r.updated_at, version = r.version
          from jsonb_to_recordset(${JSON.stringify(changed)}::jsonb) as r(id uuid, name text, description text,
               category text, price_cents int, stock int, status text, updated_at timestamptz, version int)
         where p.id = r.id`.execute(db);
      if (result.numAffectedRows !== BigInt(changed.length)) {
        // An event of a product whose creation is not applied: cannot happen in version order.
        throw new Error(`catalog rows are missing for ${changed.length - Number(result.numAffectedRows)} product(s)`);
      }
    }

    // Cache invalidation for the api replicas: delivered only if this transaction commits.
    await notifyCatalogChanged(
      [...created, ...changed].map((row) => row.id),
      db,
    );
  }
}

function fold(row: ProductRow, event: CatalogEvent): void {
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
