import { Global, Module } from '@nestjs/common';
import { CachedProducts } from './cached-products.js';
import { CatalogInvalidation } from './catalog-invalidation.js';

/** The api replica's product cache and the change feed that invalidates it. */
@Global()
@Module({
  providers: [CachedProducts, CatalogInvalidation],
  exports: [CachedProducts, CatalogInvalidation],
})
export class CatalogCacheModule {}
