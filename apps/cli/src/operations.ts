import { connect, type ConfirmChannel, type GetMessage } from 'amqplib';
import pg from 'pg';
import type { AppConfig } from '@emporium/config';
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
    const db = new pg.Client({ connectionString: this.config.database.url });
    await db.connect();
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

  async deadLetters(projection: string): Promise<DeadLetter[]> {
    return this.withDeadLetters(projection, async (_channel, messages) => messages.map(describe));
  }

  /** Moves dead letters back to the projection's queue (attempts reset), one confirm each. */
  async replay(projection: string, messageId: string | undefined): Promise<number> {
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

  private async deadLetterDepths(): Promise<Record<string, number>> {
    const connection = await connect(this.config.amqp.url, { timeout: 5000 });
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
    const connection = await connect(this.config.amqp.url, { timeout: 5000 });
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
