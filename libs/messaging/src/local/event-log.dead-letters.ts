import pg from 'pg';
import { NoSuchDeadLetter, type DeadLetter, type DeadLetterStore, type Subscription } from '../delivery/port.js';

interface DeadLetterRow {
  event_id: string;
  type: string;
  attempts: number;
  error: string;
  failed_at: Date;
  event: Record<string, unknown> | null;
}

/**
 * Dead letters of the in-process transport: rows of `dead_letters`. Replaying one removes the row
 * and unpublishes its event in one transaction, so the transport delivers it again; subscriptions
 * that applied it already find it in their inbox and change nothing.
 */
export class EventLogDeadLetters implements DeadLetterStore {
  private readonly pool: pg.Pool;
  private readonly names: Set<string>;

  constructor(databaseUrl: string, subscriptions: readonly Subscription[]) {
    this.pool = new pg.Pool({ connectionString: databaseUrl, max: 2, application_name: 'emporium-dead-letters' });
    this.pool.on('error', () => undefined);
    this.names = new Set(subscriptions.map((s) => s.name));
  }

  async depth(subscription: string): Promise<number> {
    this.check(subscription);
    const { rows } = await this.pool.query<{ n: number }>(
      'select count(*)::int as n from dead_letters where projection = $1',
      [subscription],
    );
    return rows[0].n;
  }

  async list(subscription: string): Promise<DeadLetter[]> {
    this.check(subscription);
    const { rows } = await this.pool.query<DeadLetterRow>(
      `select d.event_id, d.type, d.attempts, d.error, d.failed_at, to_jsonb(e) as event
         from dead_letters d left join event_log e on e.id = d.event_id
        where d.projection = $1 order by d.position`,
      [subscription],
    );
    return rows.map(describe);
  }

  replay(subscription: string, messageId?: string): Promise<DeadLetter[]> {
    return this.remove(subscription, messageId, (client, ids) =>
      client.query('update event_log set published_at = null where id = any($1::uuid[])', [ids]),
    );
  }

  discard(subscription: string, messageId?: string): Promise<DeadLetter[]> {
    return this.remove(subscription, messageId, () => Promise.resolve());
  }

  async close(): Promise<void> {
    await this.pool.end().catch(() => undefined);
  }

  private check(subscription: string): void {
    if (!this.names.has(subscription)) {
      throw new Error(`unknown subscription "${subscription}": one of ${[...this.names].join(', ')}`);
    }
  }

  /** Removes dead-letter rows, in one transaction with `also`. */
  private async remove(
    subscription: string,
    messageId: string | undefined,
    also: (client: pg.PoolClient, ids: string[]) => Promise<unknown>,
  ): Promise<DeadLetter[]> {
    this.check(subscription);
    const client = await this.pool.connect();
    try {
      await client.query('begin');
      const { rows } = await client.query<DeadLetterRow>(
        `with removed as (delete from dead_letters where projection = $1 and ($2::uuid is null or event_id = $2::uuid)
           returning *)
         select r.event_id, r.type, r.attempts, r.error, r.failed_at, to_jsonb(e) as event
           from removed r left join event_log e on e.id = r.event_id order by r.position`,
        [subscription, messageId ?? null],
      );
      if (messageId !== undefined && rows.length === 0) throw new NoSuchDeadLetter(messageId);
      await also(
        client,
        rows.map((r) => r.event_id),
      );
      await client.query('commit');
      return rows.map(describe);
    } catch (error) {
      await client.query('rollback').catch(() => undefined);
      throw error;
    } finally {
      client.release();
    }
  }
}

function describe(row: DeadLetterRow): DeadLetter {
  return {
    messageId: row.event_id,
    type: row.type,
    routingKey: row.type,
    attempts: row.attempts,
    error: row.error,
    failedAt: new Date(row.failed_at).toISOString(),
    body: JSON.stringify(row.event),
    headers: {},
  };
}
