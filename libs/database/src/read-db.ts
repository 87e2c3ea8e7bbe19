import { createHash } from 'node:crypto';
import type { MikroORM } from '@mikro-orm/postgresql';
import { Kysely, PostgresDialect, type PostgresPool, type PostgresPoolClient } from 'kysely';
import type { Pool, PoolClient } from 'pg';
import { isEmbeddedDatabaseUrl } from './embedded-database.js';
import type { ReadModels } from './read-models.js';

/** The read side's database: Kysely typed by the read-model schema. */
export type ReadDb = Kysely<ReadModels>;

/**
 * A short stable name for one statement text (PostgreSQL truncates names at 63 bytes). The texts
 * are few: they depend only on which filters a query has, never on values (those are parameters).
 */
const statementNames = new Map<string, string>();
function statementName(text: string): string {
  let name = statementNames.get(text);
  if (name === undefined) {
    name = `read_${createHash('sha1').update(text).digest('hex').slice(0, 16)}`;
    statementNames.set(text, name);
  }
  return name;
}

/**
 * The ORM's own pg pool (same timeouts, type parsers and tracing) seen through Kysely, with every
 * statement named: PostgreSQL parses and plans each distinct text once per connection. The
 * embedded database is one session for every connection, so there statements stay unnamed.
 */
class NamedStatementPool implements PostgresPool {
  private readonly clients = new WeakMap<PoolClient, PostgresPoolClient>();
  private pool: Pool | undefined;
  private readonly named: boolean;

  constructor(private readonly orm: MikroORM) {
    this.named = !isEmbeddedDatabaseUrl(orm.config.get('clientUrl'));
  }

  async connect(): Promise<PostgresPoolClient> {
    // The ORM may replace its pool (a reconnect): follow it rather than keep an ended one.
    if (!this.pool || this.pool.ending) {
      this.pool = await this.orm.em.getConnection().getNativeClient();
    }
    const client = await this.pool.connect();
    let wrapped = this.clients.get(client);
    if (!wrapped) {
      const named = this.named;
      // Kysely sends (text, parameters); pg names the statement when given a name with them.
      const query = (text: string, values: readonly unknown[]) =>
        client.query(named ? { name: statementName(text), text, values: [...values] } : { text, values: [...values] });
      wrapped = { query, release: () => client.release() } as unknown as PostgresPoolClient;
      this.clients.set(client, wrapped);
    }
    return wrapped;
  }

  get options(): object {
    return this.pool?.options ?? {};
  }

  /** The ORM owns the pool and ends it when it closes. */
  end(): Promise<void> {
    return Promise.resolve();
  }
}

const readDbs = new WeakMap<MikroORM, ReadDb>();

/**
 * The read side's typed database on `orm`'s connection pool, one per ORM: outside any unit of
 * work (queries need no entity manager and no hydration), built lazily on the first query.
 */
export function readDb(orm: MikroORM): ReadDb {
  let db = readDbs.get(orm);
  if (!db) {
    db = new Kysely<ReadModels>({
      dialect: new PostgresDialect({
        pool: new NamedStatementPool(orm),
      }),
    });
    readDbs.set(orm, db);
  }
  return db;
}
