import {
  Inject,
  Injectable,
  Logger,
  Optional,
  type OnApplicationBootstrap,
  type OnApplicationShutdown,
} from '@nestjs/common';
import type { ChannelModel, ConfirmChannel } from 'amqplib';
import { once } from 'node:events';
import pg from 'pg';
import { context, ROOT_CONTEXT, trace } from '@opentelemetry/api';
import { AppConfig, requireAmqpUrl, requireDatabaseUrl } from '@emporium/config';
import { contextFrom, relayPublished, SpanKind, withSpan } from '@emporium/telemetry';
import { eventLogCommits, EVENT_ROW_COLUMNS, toEnvelope, type EventRow } from '@emporium/domain';
import { BrokerConnection } from '../amqp/broker-connection.js';
import { withTimeout } from '../timeout.js';
import { ProjectionTopology } from '../amqp/topology.js';
import { Pump } from '../delivery/pump.js';
import type { Subscription } from '../delivery/port.js';

/** The subscriptions whose queues must exist before anything is published (so nothing is routed nowhere). */
export const PROJECTION_SUBSCRIPTIONS = Symbol('PROJECTION_SUBSCRIPTIONS');

// Advisory locks are per database, so one relay is active per Emporium database.
const RELAY_LOCK_KEY = 7_311_482_200_001n;
const CONFIRM_TIMEOUT_MS = 30_000;
const BROKER_LOSS_STANDDOWN_MS = 10_000;

export interface RelayStatus {
  active: boolean;
  brokerConnected: boolean;
  published: number;
  lastError?: string;
}

/**
 * Publishes `event_log` rows to the topic exchange.
 *
 * - Gap-safe: it publishes every row whose `published_at` is null, oldest position first. A row
 *   whose transaction commits late is simply unpublished when it becomes visible; there is no
 *   cursor that could have moved past it (docs/adr/0002-event-log-and-relay.md).
 * - At-least-once: rows are marked published only after the broker confirmed them.
 * - Low latency without busy polling: LISTEN on `event_log`, which a trigger NOTIFYs on commit,
 *   plus a slow sweep as a safety net.
 * - One active relay: a session advisory lock held on the relay's own connection. Stand-bys
 *   retry the lock each sweep; if the active process dies its connection, and lock, go with it.
 */
@Injectable()
export class OutboxRelay implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(OutboxRelay.name);
  private readonly broker: BrokerConnection;
  private client: pg.Client | undefined;
  private channel: ConfirmChannel | undefined;
  private active = false;
  private stopped = true;
  private readonly pump = new Pump(
    () => this.publishBatch(),
    async (error: unknown) => {
      // Unpublished rows stay unpublished; stand down and start clean on the next sweep.
      this.lastError = (error as Error).message;
      this.logger.warn(`relay: ${this.lastError}`);
      if (/did not answer/.test(this.lastError)) this.broker.recycle(this.lastError);
      await this.releaseClient();
    },
  );
  private sweepTimer: NodeJS.Timeout | undefined;
  private unsubscribe: (() => void) | undefined;
  private published = 0;
  private lastError: string | undefined;
  private brokerLostAt: number | undefined;

  constructor(
    private readonly config: AppConfig,
    @Optional() @Inject(PROJECTION_SUBSCRIPTIONS) private readonly subscriptions: readonly Subscription[] = [],
  ) {
    this.broker = new BrokerConnection(requireAmqpUrl(config, 'the relay'), 'emporium-relay');
  }

  status(): RelayStatus {
    return {
      active: this.active,
      brokerConnected: this.broker.isConnected,
      published: this.published,
      lastError: this.lastError,
    };
  }

  async onApplicationBootstrap(): Promise<void> {
    if (!this.config.relay.enabled) return;
    await this.start();
  }

  async onApplicationShutdown(): Promise<void> {
    await this.stop();
  }

  async start(): Promise<void> {
    this.stopped = false;
    this.pump.resume();
    await this.broker.onConnected((connection) => this.openChannel(connection));
    void this.broker.start();
    this.sweepTimer = setInterval(() => this.pump.tick(), this.config.relay.sweepIntervalMs);
    this.sweepTimer.unref();
    // Commits in this process wake it at once (the embedded database delivers no NOTIFY).
    // The wake-up comes from inside a request: the run is the relay's own (its batch span starts
    // a trace of its own, linked to the requests), not part of that request's trace.
    this.unsubscribe = eventLogCommits.subscribe(() => context.with(ROOT_CONTEXT, () => this.pump.tick()));
    this.pump.tick();
  }

  /** Stops after the batch in flight; unpublished rows stay for the next active relay. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.sweepTimer);
    this.unsubscribe?.();
    await this.pump.stop();
    await this.releaseClient();
    await this.broker.close();
  }

  private async openChannel(connection: ChannelModel): Promise<void> {
    const channel = await connection.createConfirmChannel();
    channel.on('error', (error: Error) => this.logger.warn(`relay channel error: ${error.message}`));
    channel.on('close', () => {
      if (this.channel === channel) this.channel = undefined;
    });
    await channel.assertExchange(this.config.amqp.exchange, 'topic', { durable: true });
    // Declared by the publisher too: events committed before the first projector starts are
    // queued for it instead of being dropped by the exchange.
    const { exchange, queuePrefix, retryDelaysMs } = this.config.amqp;
    for (const s of this.subscriptions ?? []) {
      await new ProjectionTopology(exchange, queuePrefix, s.name, s.eventTypes, retryDelaysMs).declare(channel);
    }
    this.channel = channel;
    this.pump.tick();
  }

  /** One batch published and marked; true if there may be more right away. */
  private async publishBatch(): Promise<boolean> {
    if (!(await this.ensureLeadership())) return false;
    const client = this.client;
    const channel = this.channel;
    if (!client || this.stopped) return false;
    if (!channel) {
      // No broker here: after a while, let a replica that has one take the lead.
      this.brokerLostAt ??= Date.now();
      if (Date.now() - this.brokerLostAt > BROKER_LOSS_STANDDOWN_MS) {
        this.logger.warn('relay: no broker connection; standing down so another replica can publish');
        await this.releaseClient();
        this.brokerLostAt = undefined;
      }
      return false;
    }
    this.brokerLostAt = undefined;
    const { rows } = await client.query<EventRow>(
      `select ${EVENT_ROW_COLUMNS}
         from event_log where published_at is null order by position limit $1`,
      [this.config.relay.batchSize],
    );
    if (rows.length === 0) return false;
    // One span for the batch, linked to every request whose events it carries; each message is
    // published in its own request's trace, so consumers continue that trace.
    const links = rows.map((row) => trace.getSpanContext(contextFrom(row.metadata))).filter((c) => c !== undefined);
    await withSpan(
      'relay publish batch',
      {
        kind: SpanKind.PRODUCER,
        links: links.map((c) => ({ context: c })),
        attributes: {
          'messaging.batch.message_count': rows.length,
          'emporium.position.first': rows[0].position,
          'emporium.position.last': rows[rows.length - 1].position,
        },
      },
      async () => {
        // The whole batch is outstanding at once (the window is the batch), each message confirmed
        // on its own; a full socket buffer pauses publishing until the channel drains.
        const confirms: Array<Promise<void>> = [];
        for (const row of rows) {
          let flowing = true;
          const confirmed = new Promise<void>((resolve, reject) => {
            flowing = context.with(contextFrom(row.metadata), () =>
              this.publish(channel, row, (error) =>
                error ? reject(new Error(`the broker refused event ${row.id}`)) : resolve(),
              ),
            );
          });
          confirmed.catch(() => undefined); // observed below, even if the batch is abandoned before
          confirms.push(confirmed);
          if (!flowing) await this.drained(channel);
        }
        await withTimeout(Promise.all(confirms), CONFIRM_TIMEOUT_MS, 'broker confirms');
        // The failure window between "the broker has it" and "marked published" (test-only).
        if (this.config.crashAt === 'relay-after-confirm') process.kill(process.pid, 'SIGKILL');
        await client.query('update event_log set published_at = now() where position = any($1::bigint[])', [
          rows.map((r) => r.position),
        ]);
      },
    );
    this.published += rows.length;
    relayPublished.inc(rows.length);
    this.lastError = undefined;
    return rows.length === this.config.relay.batchSize;
  }

  /** Resolves when a full channel buffer has drained; rejects if the channel closes or it takes too long. */
  private async drained(channel: ConfirmChannel): Promise<void> {
    const abort = new AbortController();
    try {
      await withTimeout(
        Promise.race([
          once(channel, 'drain', { signal: abort.signal }),
          once(channel, 'close', { signal: abort.signal }).then(() => {
            throw new Error('the relay channel closed while publishing');
          }),
        ]),
        CONFIRM_TIMEOUT_MS,
        'the broker (drain)',
      );
    } finally {
      abort.abort(); // removes whichever listener is left
    }
  }

  /** False when the channel's buffer is full (wait for 'drain'). */
  private publish(channel: ConfirmChannel, row: EventRow, confirmed: (error: unknown) => void): boolean {
    const envelope = toEnvelope(row);
    const headers: Record<string, string> = {};
    if (row.metadata.traceparent) headers.traceparent = row.metadata.traceparent;
    if (row.metadata.tracestate) headers.tracestate = row.metadata.tracestate;
    return channel.publish(
      this.config.amqp.exchange,
      row.type,
      Buffer.from(JSON.stringify(envelope)),
      {
        persistent: true,
        contentType: 'application/json',
        contentEncoding: 'utf-8',
        messageId: row.id,
        type: row.type,
        timestamp: Math.floor(new Date(row.occurred_at).getTime() / 1000),
        correlationId: row.metadata.correlationId,
        appId: 'emporium-relay',
        headers,
      },
      confirmed,
    );
  }

  private async ensureLeadership(): Promise<boolean> {
    if (this.active && this.client) return true;
    try {
      // Stand-bys keep their connection and retry the lock on it each sweep.
      this.client ??= await this.connect();
      const { rows } = await this.client.query<{ locked: boolean }>('select pg_try_advisory_lock($1) as locked', [
        RELAY_LOCK_KEY.toString(),
      ]);
      if (!rows[0].locked) return false;
      await this.client.query('listen event_log');
      this.active = true;
      this.logger.log('relay is active (holds the relay lock)');
      return true;
    } catch (error) {
      this.lastError = (error as Error).message;
      await this.releaseClient();
      return false;
    }
  }

  private async connect(): Promise<pg.Client> {
    const client = new pg.Client({
      connectionString: requireDatabaseUrl(this.config, 'the relay'),
      application_name: 'emporium-relay',
      keepAlive: true,
      connectionTimeoutMillis: 5000,
      statement_timeout: 30_000,
      query_timeout: 35_000,
    });
    client.on('error', (error: Error) => {
      // The session (and the lock with it) is gone: stand down; the next sweep reconnects.
      this.logger.warn(`relay database connection lost: ${error.message}`);
      if (this.client === client) void this.releaseClient();
    });
    client.on('notification', () => this.pump.tick());
    await client.connect();
    return client;
  }

  private async releaseClient(): Promise<void> {
    const client = this.client;
    this.client = undefined;
    this.active = false;
    await client?.end().catch(() => undefined);
  }
}
