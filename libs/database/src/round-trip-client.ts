import pg from 'pg';

/**
 * A `pg` client that saves round trips in write transactions. A statement's round trip (a socket
 * write, the server's wake-up, the read of its answer, each a system call) costs more CPU than
 * most of what the ORM does around it (BENCHMARKS.md), so a command should send few of them.
 *
 * - `begin` is not sent on its own: it is held and sent with the transaction's first statement, in
 *   one simple-protocol message (`begin; <statement>`), when that statement has no bound
 *   parameters (MikroORM sends its statements with the values inlined, so its transactions always
 *   qualify). A first statement with parameters gets `begin` sent just before it, as before. A
 *   transaction that sends nothing before its `commit` or `rollback` sends nothing at all.
 * - A statement may end the transaction itself: a simple-protocol text whose last statement is
 *   `commit` (see `withCommit`). The following `commit` of the ORM or Kysely is then answered here
 *   without a round trip. If any statement of that text fails, PostgreSQL skips the rest of it,
 *   `commit` included, and the caller's `rollback` goes to the server as usual. The caller must
 *   not fail after such a statement succeeded: its transaction has committed.
 * - Either way the answer is the caller's last statement's (not `begin`'s, not `commit`'s).
 *
 * Everything else, savepoints, `start transaction …`, parameterised statements and cursors, goes
 * through unchanged. Installed as the pool's client class (`Client` in pg's pool options).
 */
export class RoundTripSavingClient extends pg.Client {
  /** `begin` accepted but not sent yet. */
  #heldBegin = false;
  /** The last statement sent carried the transaction's `commit`. */
  #committed = false;

  constructor(config?: string | pg.ClientConfig) {
    super(config);
    // Every one of pg's call forms goes through #route, which keeps their types.
    this.query = ((...args: unknown[]) => this.#route(args)) as pg.Client['query'];
  }

  #route(args: unknown[]): unknown {
    const [config, values, callback] = args;
    const text = typeof config === 'string' ? config : undefined;
    const simple = text !== undefined && typeof values !== 'function' && callback === undefined && isEmpty(values);
    const send = (...a: unknown[]): unknown =>
      (pg.Client.prototype.query as (...q: unknown[]) => unknown).apply(this, a);
    if (!simple) {
      if (!this.#heldBegin) return send(...args);
      this.#heldBegin = false;
      // A query object (a cursor) is sent synchronously by `pg`: `begin` is queued ahead of it and
      // runs first on this connection. A failed `begin` means a broken connection, which fails the
      // next statement too.
      if (
        typeof (config as { submit?: unknown } | undefined)?.submit === 'function' ||
        typeof values === 'function' ||
        callback
      ) {
        (send('begin') as Promise<unknown>).catch(() => undefined);
        return send(...args);
      }
      return (send('begin') as Promise<unknown>).then(() => send(...args));
    }
    const statement = text.length <= 12 ? text.trim().toLowerCase().replace(/;$/, '') : undefined;
    if (statement === 'begin' && !this.#heldBegin) {
      this.#heldBegin = true;
      this.#committed = false;
      return Promise.resolve(emptyResult('BEGIN'));
    }
    if (this.#heldBegin && (statement === 'commit' || statement === 'rollback')) {
      this.#heldBegin = false;
      return Promise.resolve(emptyResult(statement.toUpperCase()));
    }
    if (this.#committed && statement === 'commit') {
      this.#committed = false;
      return Promise.resolve(emptyResult('COMMIT'));
    }
    this.#committed = false;
    const withBegin = this.#heldBegin;
    this.#heldBegin = false;
    const endsWithCommit = ENDS_WITH_COMMIT.test(text.slice(-16));
    if (!withBegin && !endsWithCommit) return send(text);
    return (send(withBegin ? `begin;\n${text}` : text) as Promise<pg.QueryResult | pg.QueryResult[]>).then((result) => {
      const results = Array.isArray(result) ? result : [result];
      if (endsWithCommit) this.#committed = true;
      // The answer is the last statement's, before the commit (the caller's statement).
      return results[results.length - (endsWithCommit ? 2 : 1)];
    });
  }
}

/** `sql` followed by the transaction's `commit`, for a client that is a RoundTripSavingClient. */
export function withCommit(sql: string): string {
  return `${sql};\ncommit`;
}

const ENDS_WITH_COMMIT = /;\s*commit\s*;?\s*$/i;

function isEmpty(values: unknown): boolean {
  return values === undefined || (Array.isArray(values) && values.length === 0);
}

function emptyResult(command: string): pg.QueryResult {
  return { command, rowCount: null, oid: 0, rows: [], fields: [] };
}
