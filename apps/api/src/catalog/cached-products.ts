import { Injectable } from '@nestjs/common';
import { QueryBus } from '@nestjs/cqrs';
import { AppConfig } from '@emporium/config';
import { GetProduct, type ProductView } from '@emporium/catalog';
import { isEmbeddedDatabaseUrl } from '@emporium/database';
import { ReadThroughCache } from './product-cache.js';

/**
 * Product-by-id through this replica's cache (kept honest by CatalogInvalidation). Off with
 * CATALOG_CACHE_MAX_ENTRIES=0, and on the embedded database: there one PostgreSQL session serves
 * every connection, so a LISTEN on it would not receive the projection's notifications.
 */
@Injectable()
export class CachedProducts {
  readonly enabled: boolean;
  readonly cache: ReadThroughCache<ProductView>;

  constructor(
    config: AppConfig,
    private readonly queries: QueryBus,
  ) {
    this.enabled =
      config.catalogCache.maxEntries > 0 &&
      config.database.url !== undefined &&
      !isEmbeddedDatabaseUrl(config.database.url);
    this.cache = new ReadThroughCache<ProductView>('product', config.catalogCache);
  }

  /** `minPosition`: the X-Min-Position the request waited for (the guard validated it), if any. */
  byId(id: string, minPosition: string | undefined): Promise<ProductView> {
    const load = (): Promise<ProductView> => this.queries.execute(new GetProduct(id));
    if (!this.enabled) return load();
    return this.cache.get(id, minPosition === undefined ? 0n : BigInt(minPosition), load);
  }
}
