import { MikroORM } from '@mikro-orm/postgresql';
import { requireDatabaseUrl, type AppConfig } from '@emporium/config';
import { createOrmOptions, type EntityClass } from './orm-options.js';

/** Creates the database named in DATABASE_URL if it does not exist (development and tests). */
export async function ensureDatabase(config: AppConfig): Promise<void> {
  const url = new URL(requireDatabaseUrl(config, 'the migration job'));
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

/**
 * Writes a new, empty migration class into libs/database/src/migrations and registers it in
 * index.ts. Migrations here are hand-written SQL: the schema carries what entity metadata does
 * not describe (read-model tables, checks, partial indexes, the xid8 column, the NOTIFY trigger),
 * so an entity diff would propose dropping them (docs/adr/0003-runtime-and-toolchain.md).
 */
export async function createMigration(name: string, directory: string): Promise<string> {
  if (!/^[a-z][a-z0-9_]{0,60}$/.test(name)) throw new Error('migration name: use lower_snake_case, e.g. add_wishlists');
  const stamp = new Date().toISOString().replace(/\D/g, '').slice(0, 14);
  const className = `Migration${stamp}_${name}`;
  const { writeFile, readFile } = await import('node:fs/promises');
  const file = `${directory}/${className}.ts`;
  await writeFile(
    file,
    `import { Migration } from '@mikro-orm/migrations';\n\nexport class ${className} extends Migration {\n  override up(): void {\n    // this.addSql(\`...\`);\n  }\n\n  override down(): void {\n    // this.addSql(\`...\`);\n  }\n}\n`,
  );
  const index = `${directory}/index.ts`;
  const source = await readFile(index, 'utf8');
  await writeFile(
    index,
    source
      .replace(/(import [^\n]+;\n)(?![\s\S]*import )/, `$1import { ${className} } from './${className}.js';\n`)
      .replace(/\n\];/, `\n  { name: '${className}', class: ${className} },\n];`),
  );
  return file;
}

/**
 * A start-up failure to reach PostgreSQL, as an operator should read it: which setting, which
 * server (without its password), and what to do. Undefined for any other error.
 */
export function unreachableDatabase(error: unknown, config: AppConfig): string | undefined {
  const e = error as { code?: string; message?: string };
  if (!/^(ECONNREFUSED|ENOTFOUND|EAI_AGAIN|ETIMEDOUT|ECONNRESET|28P01|28000|3D000)$/.test(String(e?.code)))
    return undefined;
  if (config.database.url === undefined) return undefined;
  const url = new URL(config.database.url);
  if (url.password) url.password = '***';
  return (
    `DATABASE_URL: cannot reach PostgreSQL at ${url.toString()} (${e.code}: ${e.message ?? ''}). ` +
    'Start PostgreSQL there, or set DATABASE_URL to a server you can reach.'
  );
}
