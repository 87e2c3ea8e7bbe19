import { connect, type ConfirmChannel, type GetMessage } from 'amqplib';
import pg from 'pg';
import { requireAmqpUrl, requireDatabaseUrl, type AppConfig } from '@emporium/config';
import { MessageHeaders, ProjectionTopology } from '@emporium/messaging';

export interface ProjectionInfo {
  name: string;
  eventTypes: readonly string[];
}

export interface ProjectionStatus {
  projection: string;
  appliedPosition: string;
  headPosition: string;
  lagEvents: number;
  lagSeconds: number;
  deadLetters: number | string;
}

export interface DeadLetter {
  messageId: string;
  type: string;
  routingKey: string;
  attempts: number;
  error: string;
  failedAt: string;
  body: string;
  headers: Record<string, unknown>;
}

/** Operator actions on the running system; every action is written to `log` as it happens. */
export class Operations {
  constructor(
    private readonly config: AppConfig,
    private readonly projections: ProjectionInfo[],
    private readonly log: (line: string) => void,
  ) {}

  topology(name: string): ProjectionTopology {
    const projection = this.projections.find((p) => p.name === name);
    if (!projection) {
      throw new Error(`unknown projection "${name}": one of ${this.projections.map((p) => p.name).join(', ')}`);
    }
    const { exchange, queuePrefix, retryDelaysMs } = this.config.amqp;
    return new ProjectionTopology(exchange, queuePrefix, projection.name, projection.eventTypes, retryDelaysMs);
  }

  async status(): Promise<ProjectionStatus[]> {
    const db = await this.database();
    try {
      const depths = await this.deadLetterDepths().catch((error: Error) => error.message);
      const out: ProjectionStatus[] = [];
      for (const p of this.projections) {
        const { rows } = await db.query<{
          applied: string | null;
          head: string | null;
          lag: number;
          oldest: Date | null;
        }>(
          `select (select max(position) from projection_inbox where projection = $1) as applied,
                  (select max(position) from event_log where type = any($2)) as head,
                  count(*)::int as lag, min(e.occurred_at) as oldest
             from event_log e
            where e.type = any($2)
              and not exists (select 1 from projection_inbox i where i.projection = $1 and i.event_id = e.id)`,
          [p.name, p.eventTypes],
        );
        const r = rows[0];
        out.push({
          projection: p.name,
          appliedPosition: r.applied ?? '0',
          headPosition: r.head ?? '0',
          lagEvents: r.lag,
          lagSeconds: r.oldest ? Math.round((Date.now() - new Date(r.oldest).getTime()) / 100) / 10 : 0,
          deadLetters: typeof depths === 'string' ? `unknown (${depths})` : (depths[p.name] ?? 0),
        });
      }
      return out;
    } finally {
      await db.end();
    }
  }

  /** Without AMQP_URL the dead letters are rows of `dead_letters` (the in-process transport). */
  private get inProcess(): boolean {
    return this.config.amqp.url === undefined;
  }

  private async database(): Promise<pg.Client> {
    const db = new pg.Client({ connectionString: requireDatabaseUrl(this.config, 'the CLI') });
    await db.connect();
    return db;
  }

  private async withDatabase<T>(work: (db: pg.Client) => Promise<T>): Promise<T> {
    const db = await this.database();
    try {
      return await work(db);
    } finally {
      await db.end();
    }
  }

  async deadLetters(projection: string): Promise<DeadLetter[]> {
    if (this.inProcess) {
      this.topology(projection);
      return this.withDatabase(async (db) => {
        const { rows } = await db.query<DeadLetterRow>(
          `select d.event_id, d.type, d.attempts, d.error, d.failed_at, to_jsonb(e) as event
             from dead_letters d left join event_log e on e.id = d.event_id
            where d.projection = $1 order by d.position`,
          [projection],
        );
        return rows.map(describeRow);
      });
    }
    return this.withDeadLetters(projection, async (_channel, messages) => messages.map(describe));
  }

  /** Moves dead letters back to the projection's queue (attempts reset), one confirm each. */
  async replay(projection: string, messageId: string | undefined): Promise<number> {
    if (this.inProcess) {
      // Unpublishing the event makes the transport deliver it again; projections that applied it
      // already find it in their inbox and change nothing.
      return this.settleRows(projection, messageId, 'replayed', (db, ids) =>
        db.query('update event_log set published_at = null where id = any($1::uuid[])', [ids]),
      );
    }
    const topology = this.topology(projection);
    return this.withDeadLetters(projection, async (channel, messages) => {
      let replayed = 0;
      for (const message of select(messages, messageId)) {
        const headers = { ...(message.properties.headers ?? {}) };
        const routingKey = text(headers[MessageHeaders.originalRoutingKey] ?? message.fields.routingKey);
        for (const key of Object.keys(headers))
          if (key.startsWith('x-emporium-') || key === 'x-death') delete headers[key];
        await new Promise<void>((resolve, reject) =>
          channel.sendToQueue(
            topology.queue,
            message.content,
            { ...message.properties, headers, persistent: true },
            (error: unknown) => (error ? reject(new Error('the broker did not confirm the replay')) : resolve()),
          ),
        );
        channel.ack(message);
        replayed += 1;
        this.log(
          `replayed ${String(message.properties.messageId)} (${routingKey}) from ${topology.deadLetterQueue} to ${topology.queue}`,
        );
      }
      return replayed;
    });
  }

  async discard(projection: string, messageId: string | undefined): Promise<number> {
    if (this.inProcess) return this.settleRows(projection, messageId, 'discarded', async () => undefined);
    const topology = this.topology(projection);
    return this.withDeadLetters(projection, async (channel, messages) => {
      let discarded = 0;
      for (const message of select(messages, messageId)) {
        channel.ack(message);
        discarded += 1;
        this.log(
          `discarded ${String(message.properties.messageId)} from ${topology.deadLetterQueue}: ${describe(message).error}`,
        );
      }
      return discarded;
    });
  }

  /** Removes dead-letter rows (one transaction with `also`), logging each. */
  private async settleRows(
    projection: string,
    messageId: string | undefined,
    verb: string,
    also: (db: pg.Client, ids: string[]) => Promise<unknown>,
  ): Promise<number> {
    this.topology(projection);
    return this.withDatabase(async (db) => {
      await db.query('begin');
      try {
        const { rows } = await db.query<{ event_id: string; type: string; error: string }>(
          `delete from dead_letters where projection = $1 and ($2::uuid is null or event_id = $2::uuid)
           returning event_id, type, error`,
          [projection, messageId ?? null],
        );
        if (messageId !== undefined && rows.length === 0) throw new Error(`no dead letter with messageId ${messageId}`);
        await also(
          db,
          rows.map((r) => r.event_id),
        );
        await db.query('commit');
        for (const row of rows) this.log(`${verb} ${row.event_id} (${row.type}) of ${projection}: ${row.error}`);
        return rows.length;
      } catch (error) {
        await db.query('rollback');
        throw error;
      }
    });
  }

  private async deadLetterDepths(): Promise<Record<string, number>> {
    if (this.inProcess) {
      return this.withDatabase(async (db) => {
        const { rows } = await db.query<{ projection: string; n: number }>(
          'select projection, count(*)::int as n from dead_letters group by projection',
        );
        return Object.fromEntries(rows.map((r) => [r.projection, r.n]));
      });
    }
    const connection = await connect(requireAmqpUrl(this.config, 'the CLI'), { timeout: 5000 });
    try {
      const depths: Record<string, number> = {};
      for (const p of this.projections) {
        const channel = await connection.createChannel();
        channel.on('error', () => undefined);
        depths[p.name] = await channel
          .checkQueue(this.topology(p.name).deadLetterQueue)
          .then((q) => q.messageCount)
          .catch(() => 0);
        await channel.close().catch(() => undefined);
      }
      return depths;
    } finally {
      await connection.close();
    }
  }

  /**
   * Takes every dead letter of a projection off the queue without acking; what `work` does not
   * ack goes back to the queue when the channel closes, so an interrupted command loses nothing.
   */
  private async withDeadLetters<T>(
    projection: string,
    work: (channel: ConfirmChannel, messages: GetMessage[]) => Promise<T>,
  ): Promise<T> {
    const topology = this.topology(projection);
    const connection = await connect(requireAmqpUrl(this.config, 'the CLI'), { timeout: 5000 });
    try {
      const channel = await connection.createConfirmChannel();
      const messages: GetMessage[] = [];
      for (;;) {
        const message = await channel.get(topology.deadLetterQueue, { noAck: false });
        if (!message) break;
        messages.push(message);
      }
      const result = await work(channel, messages);
      await channel.waitForConfirms();
      await channel.close();
      return result;
    } finally {
      await connection.close().catch(() => undefined);
    }
  }
}

function select(messages: GetMessage[], messageId: string | undefined): GetMessage[] {
  if (messageId === undefined) return messages;
  const chosen = messages.filter((m) => m.properties.messageId === messageId);
  if (chosen.length === 0) throw new Error(`no dead letter with messageId ${messageId}`);
  return chosen;
}

const text = (value: unknown): string =>
  typeof value === 'string'
    ? value
    : Buffer.isBuffer(value)
      ? value.toString('utf8')
      : value === undefined
        ? ''
        : JSON.stringify(value);

function describe(message: GetMessage): DeadLetter {
  const headers = (message.properties.headers ?? {}) as Record<string, unknown>;
  return {
    messageId: String(message.properties.messageId ?? ''),
    type: String(message.properties.type ?? ''),
    routingKey: text(headers[MessageHeaders.originalRoutingKey] ?? message.fields.routingKey),
    attempts: Number(headers[MessageHeaders.attempts] ?? 0),
    error: text(headers[MessageHeaders.error]),
    failedAt: text(headers[MessageHeaders.failedAt]),
    body: message.content.toString('utf8'),
    headers,
  };
}

interface DeadLetterRow {
  event_id: string;
  type: string;
  attempts: number;
  error: string;
  failed_at: Date;
  event: Record<string, unknown> | null;
}

function describeRow(row: DeadLetterRow): DeadLetter {
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
