export { DatabaseModule } from './database.module.js';
export { createOrmOptions, type EntityClass } from './orm-options.js';
export { ensureDatabase, migrateUp, createMigration, unreachableDatabase } from './migrate.js';
export { isConcurrencyConflict, isDatabaseUnavailable, isTransientDatabaseError, isUniqueViolation } from './errors.js';
export {
  EmbeddedDatabaseError,
  isEmbeddedDatabaseUrl,
  startEmbeddedDatabase,
  type EmbeddedDatabase,
} from './embedded-database.js';
export { readDb, type ReadDb } from './read-db.js';
export * from './read-models.js';
export { RoundTripSavingClient, withCommit } from './round-trip-client.js';
export { statementEvent, withStatementsAsEvents } from './statement-events.js';
