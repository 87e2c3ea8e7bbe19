/** @requires-services PostgreSQL (see jest.config.js) */
import pg from 'pg';
import { allEntities } from '@emporium/composition';
import { RoundTripSavingClient, withCommit } from '@emporium/database';
import { isolatedEnvironment, requireServices, type IsolatedEnvironment } from '@emporium/testing';

/**
 * The client that saves round trips (RoundTripSavingClient) against real PostgreSQL: fewer socket
 * writes, and still exactly the transactions its callers asked for: what commits, commits; what
 * fails or rolls back, leaves nothing.
 */
describe('RoundTripSavingClient (real PostgreSQL)', () => {
  let env: IsolatedEnvironment;
  let client: RoundTripSavingClient;
  let observer: pg.Client;
  let writes = 0;

  beforeAll(async () => {
    await requireServices();
    env = await isolatedEnvironment('round_trip_client', allEntities);
    client = new RoundTripSavingClient({ connectionString: env.databaseUrl });
    await client.connect();
    // Count what reaches the socket as one write: a write outside a cork, or an uncork that
    // releases the messages written while corked (pg corks the parts of a parameterised query).
    const stream = (
      client as unknown as {
        connection: { stream: { write: (...a: unknown[]) => boolean; uncork: () => void; writableCorked: number } };
      }
    ).connection.stream;
    const write = stream.write.bind(stream);
    const uncork = stream.uncork.bind(stream);
    stream.write = (...args: unknown[]) => {
      if (stream.writableCorked === 0) writes += 1;
      return write(...args);
    };
    stream.uncork = () => {
      uncork();
      if (stream.writableCorked === 0) writes += 1;
    };
    observer = new pg.Client({ connectionString: env.databaseUrl });
    await observer.connect();
    await observer.query('create table notes (id int primary key, body text not null)');
  });

  afterAll(async () => {
    await client?.end();
    await observer?.end();
    await env?.dispose();
  });

  afterEach(async () => {
    // A failed expectation must not leave a transaction holding locks for the next test.
    await client.query('rollback', []).catch(() => undefined);
  });

  beforeEach(async () => {
    await observer.query('truncate notes');
    writes = 0;
  });

  const stored = async (): Promise<number[]> =>
    (await observer.query<{ id: number }>('select id from notes order by id')).rows.map((r) => r.id);

  it('sends begin with the first statement, and that statement runs inside the transaction', async () => {
    await client.query('begin', []);
    expect(writes).toBe(0);
    const inserted = await client.query(`insert into notes values (1, 'a') returning id`, []);
    expect(writes).toBe(1);
    // The caller gets its own statement's answer, not begin's.
    expect(inserted.rows).toEqual([{ id: 1 }]);
    expect(await stored()).toEqual([]); // not committed yet: it is in a transaction
    await client.query('rollback', []);
    expect(await stored()).toEqual([]);
  });

  it('commits in the statement that carries the commit, and answers the following commit without a write', async () => {
    await client.query('begin', []);
    const result = await client.query(withCommit(`insert into notes values (1, 'a'), (2, 'b') returning id`), []);
    expect(result.rows).toEqual([{ id: 1 }, { id: 2 }]);
    expect(writes).toBe(1);
    expect(await stored()).toEqual([1, 2]);
    await client.query('commit', []);
    expect(writes).toBe(1);
  });

  it('keeps nothing when a statement of the committing text fails, and the connection stays usable', async () => {
    await client.query('begin', []);
    await client.query(`insert into notes values (1, 'a')`, []);
    await expect(
      client.query(withCommit(`insert into notes values (2, 'b'); insert into notes values (1, 'duplicate')`), []),
    ).rejects.toMatchObject({ code: '23505' });
    await client.query('rollback', []);
    expect(await stored()).toEqual([]);
    expect((await client.query('select 1 as one', [])).rows).toEqual([{ one: 1 }]);
  });

  it('sends begin just before a first statement with parameters', async () => {
    await client.query('begin', []);
    await client.query('insert into notes values ($1, $2)', [1, 'a']);
    expect(writes).toBe(2);
    expect(await stored()).toEqual([]);
    await client.query('commit', []);
    expect(await stored()).toEqual([1]);
  });

  it('sends nothing for a transaction that ran no statement', async () => {
    await client.query('begin', []);
    await client.query('commit', []);
    await client.query('begin', []);
    await client.query('rollback', []);
    expect(writes).toBe(0);
    // And the session is not left inside a transaction.
    expect((await client.query(`select now() = statement_timestamp() as outside`, [])).rows).toEqual([
      { outside: true },
    ]);
  });
});
