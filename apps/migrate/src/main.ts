import 'reflect-metadata';
import { AppConfig, ConfigError } from '@emporium/config';
import { allEntities } from '@emporium/composition';
import { createMigration, ensureDatabase, migrateUp, unreachableDatabase } from '@emporium/database';

/**
 * The one-shot migration job (`npm run migration:up`, the compose `migrate` service, the
 * Kubernetes Job). Apps never migrate implicitly at start.
 */
const [command = 'up', ...args] = process.argv.slice(2);

let config: AppConfig | undefined;
try {
  config = AppConfig.fromEnvironment(process.env);
  if (command === 'up') {
    if (config.env !== 'production') await ensureDatabase(config);
    const applied = await migrateUp(config, allEntities);
    console.log(applied.length ? `applied: ${applied.join(', ')}` : 'database is up to date');
  } else if (command === 'create') {
    const name = args.find((a) => !a.startsWith('--')) ?? '';
    const file = await createMigration(name, 'libs/database/src/migrations');
    console.log(`created ${file} and registered it in libs/database/src/migrations/index.ts; write its SQL`);
  } else {
    console.error(`unknown command "${command}": use "up" or "create <name>"`);
    process.exit(64);
  }
} catch (error) {
  if (error instanceof ConfigError) {
    console.error(error.message);
    process.exit(78);
  }
  const unreachable = config && unreachableDatabase(error, config);
  if (unreachable) {
    console.error(unreachable);
    process.exit(69); // EX_UNAVAILABLE
  }
  throw error;
}
