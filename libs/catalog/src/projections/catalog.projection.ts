import { Injectable } from '@nestjs/common';
import { sql } from 'kysely';
import { CatalogEvents, type EventEnvelope } from '@emporium/contracts';
import { field, isInt, isString, PoisonMessageError, type Db, type Projection } from '@emporium/messaging';

export const catalogProjectionEvents = Object.values(CatalogEvents);

/** Product list and detail: one row per product, kept current by every catalog event. */
@Injectable()
export class CatalogProjection implements Projection {
  readonly name = 'catalog';
  readonly eventTypes = catalogProjectionEvents;
  readonly tables = ['read_catalog_products'];

  async apply(event: EventEnvelope, db: Db): Promise<void> {
    const p = event.payload;
    const id = event.aggregateId;
    const at = event.occurredAt;
    const v = event.aggregateVersion;
    switch (event.type) {
      case CatalogEvents.ProductCreated:
        await sql`insert into read_catalog_products
            (id, sku, name, description, category, price_cents, currency, stock, status, created_at, updated_at, version)
          values (${id}, ${field<string>(p, 'sku', isString)}, ${field<string>(p, 'name', isString)},
            ${field<string>(p, 'description', isString)}, ${field<string>(p, 'category', isString)},
            ${field<number>(p, 'priceCents', isInt)}, ${field<string>(p, 'currency', isString)},
            ${field<number>(p, 'stock', isInt)}, ${field<string>(p, 'status', isString)}, ${at}, ${at}, ${v})`.execute(
          db,
        );
        return;
      case CatalogEvents.ProductUpdated:
        await this.update(
          db,
          id,
          at,
          v,
          sql`name = ${field<string>(p, 'name', isString)},
            description = ${field<string>(p, 'description', isString)}, category = ${field<string>(p, 'category', isString)}`,
        );
        return;
      case CatalogEvents.PriceChanged:
        await this.update(db, id, at, v, sql`price_cents = ${field<number>(p, 'priceCents', isInt)}`);
        return;
      case CatalogEvents.Restocked:
      case CatalogEvents.StockReserved:
      case CatalogEvents.StockReleased:
        await this.update(db, id, at, v, sql`stock = ${field<number>(p, 'stock', isInt)}`);
        return;
      case CatalogEvents.Discontinued:
        await this.update(db, id, at, v, sql`status = 'discontinued'`);
        return;
      default:
        throw new PoisonMessageError(`catalog projection cannot apply ${event.type}`);
    }
  }

  private async update(db: Db, id: string, at: string, version: number, set: ReturnType<typeof sql>): Promise<void> {
    const result = await sql`update read_catalog_products set ${set}, updated_at = ${at}, version = ${version}
        where id = ${id}`.execute(db);
    if (result.numAffectedRows === 0n) throw new Error(`catalog row ${id} is missing`);
  }
}
