import { ReflectMetadataProvider } from '@mikro-orm/decorators/legacy';
import { Migrator } from '@mikro-orm/migrations';
import { defineConfig, type Options } from '@mikro-orm/postgresql';
import { requireDatabaseUrl, type AppConfig } from '@emporium/config';
import { migrationsList } from './migrations/index.js';
import { RoundTripSavingClient } from './round-trip-client.js';
import { statementEvent } from './statement-events.js';

export type EntityClass = abstract new (...args: never[]) => object;

/**
 * MikroORM options shared by every process. Migrations are listed explicitly rather than
 * discovered by glob: discovery needs Node >= 22 (fs.globSync) and breaks under bundlers and
 * Jest's ESM loader (see docs/adr/0003-runtime-and-toolchain.md).
 */
/**
 * `purpose: 'migrate'` drops the statement and lock timeouts that protect request paths: a
 * migration may legitimately hold a lock or run a long statement.
 */
export function createOrmOptions(
  config: AppConfig,
  entities: EntityClass[],
  applicationName = 'emporium',
  purpose: 'serve' | 'migrate' = 'serve',
): Options {
  const db = config.database;
  // Passed to pg's Pool: a hung database fails fast instead of hanging requests and probes.
  const timeouts =
    purpose === 'serve'
      ? {
          statement_timeout: db.statementTimeoutMs,
          lock_timeout: db.lockTimeoutMs,
          idle_in_transaction_session_timeout: db.statementTimeoutMs * 2,
        }
      : {};
  return defineConfig({
    clientUrl: requireDatabaseUrl(config, applicationName),
    entities,
    metadataProvider: ReflectMetadataProvider,
    extensions: [Migrator],
    pool: { min: 0, max: db.poolMax, idleTimeoutMillis: 30_000 },
    driverOptions: {
      // Serving processes save two round trips per write transaction (round-trip-client.ts).
      ...(purpose === 'serve' ? { Client: RoundTripSavingClient } : {}),
      application_name: applicationName,
      connectionTimeoutMillis: db.connectTimeoutMs,
      keepAlive: true,
      ...timeouts,
    },
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
        'dead_letters',
        'idempotency_keys',
        'order_stream_tickets',
        'projection_inbox',
        'projection_streams',
        'read_catalog_products',
        'read_orders',
        'read_sales_daily',
        'schema_migrations',
      ],
    },
    // Nothing is written to disk at run time (containers run with a read-only root filesystem).
    metadataCache: { enabled: false },
    // Statements of a transaction traced as one span become its events (statement-events.ts).
    onQuery: (sql) => {
      statementEvent(sql);
      return sql;
    },
    debug: false,
  });
}
