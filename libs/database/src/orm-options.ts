import { ReflectMetadataProvider } from '@mikro-orm/decorators/legacy';
import { Migrator } from '@mikro-orm/migrations';
import { defineConfig, type Options } from '@mikro-orm/postgresql';
import type { AppConfig } from '@emporium/config';
import { migrationsList } from './migrations/index.js';

export type EntityClass = abstract new (...args: never[]) => object;

/**
 * MikroORM options shared by every process. Migrations are listed explicitly rather than
 * discovered by glob: discovery needs Node >= 22 (fs.globSync) and breaks under bundlers and
 * Jest's ESM loader (see docs/adr/0003-runtime-and-toolchain.md).
 */
export function createOrmOptions(config: AppConfig, entities: EntityClass[], applicationName = 'emporium'): Options {
  return defineConfig({
    clientUrl: config.database.url,
    entities,
    metadataProvider: ReflectMetadataProvider,
    extensions: [Migrator],
    pool: { min: 0, max: config.database.poolMax, idleTimeoutMillis: 30_000 },
    driverOptions: { application_name: applicationName },
    migrations: {
      migrationsList,
      silent: true,
      tableName: 'schema_migrations',
      transactional: true,
      allOrNothing: true,
      snapshot: false,
      emit: 'ts',
      pathTs: 'libs/database/src/migrations',
    },
    // Read models and the relay's bookkeeping are plain SQL tables, not entities.
    schemaGenerator: {
      skipTables: [
        'idempotency_keys',
        'projection_inbox',
        'projection_streams',
        'read_catalog_products',
        'read_orders',
        'read_sales_daily',
        'schema_migrations',
      ],
    },
    debug: false,
  });
}
