import { sql } from 'kysely';
import type { ReadDb } from '@emporium/database';

/** The channel on which the catalog read model announces changed products (payload: the product id). */
export const CATALOG_CHANNEL = 'emporium_catalog';

/**
 * Announces, in the projection's transaction, every product row it changed. PostgreSQL delivers
 * a NOTIFY only when that transaction commits (and once per distinct payload), so a listener
 * never drops a cache entry for a change that did not happen, nor misses one that did while it
 * was listening. One statement, whatever the batch size.
 */
export async function notifyCatalogChanged(productIds: readonly string[], db: ReadDb): Promise<void> {
  if (productIds.length === 0) return;
  await sql`select pg_notify(${CATALOG_CHANNEL}, id) from unnest(${[...productIds]}::text[]) as t(id)`.execute(db);
}
