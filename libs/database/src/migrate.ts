import { MikroORM } from '@mikro-orm/postgresql';
import type { AppConfig } from '@emporium/config';
import { createOrmOptions, type EntityClass } from './orm-options.js';

/** Creates the database named in DATABASE_URL if it does not exist (development and tests). */
export async function ensureDatabase(config: AppConfig): Promise<void> {
  const url = new URL(config.database.url);
  const name = decodeURIComponent(url.pathname.slice(1));
  if (!/^[A-Za-z0-9_-]+$/.test(name)) throw new Error(`DATABASE_URL: unsupported database name "${name}"`);
  url.pathname = '/postgres';
  const pg = await import('pg');
  const client = new pg.default.Client({ connectionString: url.toString() });
  await client.connect();
  try {
    const found = await client.query('select 1 from pg_database where datname = $1', [name]);
    if (found.rowCount === 0) {
      await client.query(`create database "${name}"`).catch((error: unknown) => {
        // Another process created it between our check and our create.
        if ((error as { code?: string }).code !== '42P04') throw error;
      });
    }
  } finally {
    await client.end();
  }
}

export async function migrateUp(config: AppConfig, entities: EntityClass[]): Promise<string[]> {
  const orm = await MikroORM.init(createOrmOptions(config, entities, 'emporium-migrate', 'migrate'));
  try {
    const done = await orm.migrator.up();
    return done.map((m) => m.name);
  } finally {
    await orm.close();
  }
}

export async function createMigration(config: AppConfig, entities: EntityClass[], blank = false): Promise<string> {
  const orm = await MikroORM.init(createOrmOptions(config, entities, 'emporium-migrate', 'migrate'));
  try {
    const result = await orm.migrator.create(undefined, blank);
    return result.fileName;
  } finally {
    await orm.close();
  }
}
