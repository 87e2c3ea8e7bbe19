import type { MikroORM } from '@mikro-orm/postgresql';
import type { Pool, QueryResultRow } from 'pg';
import { isEmbeddedDatabaseUrl } from './embedded-database.js';

const pools = new WeakMap<MikroORM, Pool>();

async function poolOf(orm: MikroORM): Promise<Pool> {
  const cached = pools.get(orm);
  if (cached && !cached.ending) return cached;
  const pool = await orm.em.getConnection().getNativeClient();
  pools.set(orm, pool);
  return pool;
}

/**
 * One parameterised statement on the ORM's own pg pool (same timeouts, type parsers and tracing),
 * outside any unit of work: for the read paths, which answer from read-model tables and need no
 * entity manager, no query builder and no hydration. `name` makes it a prepared statement that
 * PostgreSQL parses and plans once per connection; give one name per distinct `text`.
 */
export async function readQuery<R extends QueryResultRow>(
  orm: MikroORM,
  name: string,
  text: string,
  values: unknown[],
): Promise<R[]> {
  const pool = await poolOf(orm);
  // The embedded database is one session for every connection: unnamed statements only there.
  const prepared = !isEmbeddedDatabaseUrl(orm.config.get('clientUrl'));
  return (await pool.query<R>(prepared ? { name, text, values } : { text, values })).rows;
}
