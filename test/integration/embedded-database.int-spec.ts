import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { EmbeddedDatabaseError, startEmbeddedDatabase, type EmbeddedDatabase } from '@emporium/database';

/**
 * The embedded database (PGlite behind our wire-protocol socket) as the apps use it: several
 * pooled connections at once, on one PostgreSQL session. Needs no service.
 */
describe('embedded database', () => {
  let dataDir: string;
  let db: EmbeddedDatabase;
  let pool: pg.Pool;

  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'emporium-embedded-'));
    db = await startEmbeddedDatabase({ dataDir, port: 0, maxConnections: 16 });
    pool = new pg.Pool({ connectionString: db.url, max: 6 });
  });

  afterAll(async () => {
    await pool?.end();
    await db?.close();
    await rm(dataDir, { recursive: true, force: true });
  });

  it('keeps each connection’s extended-protocol batch together: different statements never mix', async () => {
    const errors: string[] = [];
    let wrong = 0;
    await Promise.all(
      Array.from({ length: 6 }, async (_, k) => {
        for (let i = 0; i < 150; i++) {
          // A different statement text per connection: a Parse of one replacing another's
          // unnamed statement would fail or bind these parameters to the wrong query.
          const sql = `select $1::int + ${k} as a, $2::text || '-${k}' as b` + ' '.repeat(k);
          try {
            const { rows } = await pool.query<{ a: number; b: string }>(sql, [i, `v${i}`]);
            if (rows[0].a !== i + k || rows[0].b !== `v${i}-${k}`) wrong += 1;
          } catch (error) {
            errors.push((error as Error).message);
          }
        }
      }),
    );
    expect({ errors: [...new Set(errors)], wrong }).toEqual({ errors: [], wrong: 0 });
  });

  it('serves transactions on some connections and plain queries on others at once (as the apps do)', async () => {
    await pool.query('create table mixed (id serial primary key, k int not null)');
    const errors: string[] = [];
    let wrong = 0;
    await Promise.all(
      Array.from({ length: 6 }, async (_, k) => {
        for (let i = 0; i < 60; i++) {
          try {
            if (k % 2 === 0) {
              const client = await pool.connect();
              try {
                await client.query('begin');
                await client.query('insert into mixed (k) values ($1)', [k]);
                await client.query('select count(*) from mixed where k = $1', [k]);
                await client.query('commit');
              } finally {
                client.release();
              }
            } else {
              const { rows } = await pool.query<{ a: number }>(`select $1::int + ${k} as a` + ' '.repeat(k), [i]);
              if (rows[0].a !== i + k) wrong += 1;
            }
          } catch (error) {
            errors.push((error as Error).message);
          }
        }
      }),
    );
    expect({ errors: [...new Set(errors)], wrong }).toEqual({ errors: [], wrong: 0 });
    expect((await pool.query('select count(*)::int as n from mixed')).rows[0].n).toBe(180);
  }, 20_000);

  it('runs transactions one at a time: concurrent read-modify-write loses no update', async () => {
    await pool.query('create table counter (id int primary key, n int not null); insert into counter values (1, 0)');
    await Promise.all(
      Array.from({ length: 5 }, async () => {
        for (let i = 0; i < 40; i++) {
          const client = await pool.connect();
          try {
            await client.query('begin');
            const { rows } = await client.query<{ n: number }>('select n from counter where id = $1', [1]);
            await client.query('update counter set n = $1 where id = 1', [rows[0].n + 1]);
            await client.query('commit');
          } finally {
            client.release();
          }
        }
      }),
    );
    expect((await pool.query('select n from counter')).rows[0].n).toBe(200);
  });

  it('rolls back the transaction of a connection that goes away, and frees the session', async () => {
    const client = new pg.Client({ connectionString: db.url });
    await client.connect();
    await client.query('begin');
    await client.query('update counter set n = -1 where id = 1');
    await client.end();
    expect((await pool.query('select n from counter')).rows[0].n).toBe(200);
  });

  it('keeps its data across a restart, and lets one process own a data directory', async () => {
    await expect(startEmbeddedDatabase({ dataDir, port: 0, maxConnections: 4 })).rejects.toThrow(
      /DATA_DIR: .* is in use by process \d+/,
    );
    await pool.end();
    await db.close();
    db = await startEmbeddedDatabase({ dataDir, port: 0, maxConnections: 16 });
    pool = new pg.Pool({ connectionString: db.url, max: 6 });
    expect(db.created).toBe(false);
    expect((await pool.query('select n from counter')).rows[0].n).toBe(200);
  });

  it('names DATA_DIR and the fix when the directory cannot be written', async () => {
    if (process.getuid?.() === 0) {
      // root writes anywhere: use a path below a regular file instead.
      const file = join(dataDir, 'pglite', 'PG_VERSION');
      await expect(startEmbeddedDatabase({ dataDir: join(file, 'data'), port: 0, maxConnections: 4 })).rejects.toThrow(
        EmbeddedDatabaseError,
      );
      await expect(startEmbeddedDatabase({ dataDir: join(file, 'data'), port: 0, maxConnections: 4 })).rejects.toThrow(
        /DATA_DIR: cannot write to .*; set DATA_DIR to a directory you can write/,
      );
      return;
    }
    const locked = await mkdtemp(join(tmpdir(), 'emporium-readonly-'));
    await chmod(locked, 0o500);
    try {
      await expect(
        startEmbeddedDatabase({ dataDir: join(locked, 'data'), port: 0, maxConnections: 4 }),
      ).rejects.toThrow(/DATA_DIR: cannot write to .*; set DATA_DIR to a directory you can write/);
    } finally {
      await rm(locked, { recursive: true, force: true });
    }
  });
});
