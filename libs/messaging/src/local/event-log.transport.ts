import { Logger } from '@nestjs/common';
import pg from 'pg';
import { ROOT_CONTEXT } from '@opentelemetry/api';
import { contextFrom } from '@emporium/telemetry';
import { eventLogCommits, EVENT_ROW_COLUMNS, toEnvelope, type EventRow } from '@emporium/domain';
import { Pump } from '../delivery/pump.js';
import type { Delivery, DeliveryTransport, Retry, Subscription } from '../delivery/port.js';

export interface EventLogTransportOptions {
  databaseUrl: string;
  batchSize: number;
  sweepIntervalMs: number;
}

/** An event on its way to the subscriptions of its type. */
interface Pending {
  row: EventRow;
  /** Subscriptions that have neither applied it nor dead-lettered it yet. */
  unsettled: Set<string>;
  /**
   * Subscriptions whose dead letter of it exists (found when the row was read, or parked since).
   * The row is marked published only while all of those still exist: one replayed meanwhile
   * leaves the row unpublished, so it is read and delivered again.
   */
  parked: Set<string>;
}

/**
 * The in-process transport (no AMQP_URL): `event_log` itself is the queue, behind the same port
 * as RabbitMQ, so subscribers cannot tell the difference (docs/adr/0011-embedded-mode.md):
 *
 * - at-least-once: it takes unpublished rows oldest first and marks a row published only when
 *   every subscription settled it (acked or dead-lettered); a crash before that delivers it again;
 * - retry later = a timer; dead-letter = a `dead_letters` row (reason and attempts), which the
 *   dead-letter store lists, replays (the row is unpublished again) and discards;
 * - woken by commits in this process, with a sweep as the safety net; at most a few pages of
 *   events in flight at a time.
 */
export class EventLogTransport implements DeliveryTransport {
  readonly healthCheck = 'event-log-transport';
  private readonly logger = new Logger(EventLogTransport.name);
  private pool: pg.Pool | undefined;
  private readonly pending = new Map<string, Pending>();
  private readonly retryTimers = new Set<NodeJS.Timeout>();
  private readonly toPublish = new Set<string>();
  private subscriptions: readonly Subscription[] = [];
  private receive: (delivery: Delivery) => void = () => undefined;
  private sweepTimer: NodeJS.Timeout | undefined;
  private unsubscribe: (() => void) | undefined;
  private healthy = false;
  private receiving = false;
  private readonly reader = new Pump(
    () => this.readPage(),
    (error) => this.lost(error),
  );
  private readonly publisher = new Pump(
    () => this.markPublished(),
    (error) => this.lost(error),
  );

  constructor(private readonly options: EventLogTransportOptions) {}

  get connected(): boolean {
    return this.healthy;
  }

  start(subscriptions: readonly Subscription[], receive: (delivery: Delivery) => void): Promise<void> {
    this.subscriptions = subscriptions;
    this.receive = receive;
    this.receiving = true;
    this.pool = new pg.Pool({
      connectionString: this.options.databaseUrl,
      application_name: 'emporium-event-log-transport',
      max: 2,
      idleTimeoutMillis: 30_000,
      connectionTimeoutMillis: 5000,
    });
    this.pool.on('error', (error) => this.logger.warn(`event log connection lost: ${error.message}`));
    this.reader.resume();
    this.publisher.resume();
    this.unsubscribe = eventLogCommits.subscribe(() => this.reader.tick());
    this.sweepTimer = setInterval(() => {
      this.publisher.tick();
      this.reader.tick();
    }, this.options.sweepIntervalMs);
    this.reader.tick();
    return Promise.resolve();
  }

  /** Takes no new rows; pending retries are dropped (their rows stay unpublished). */
  async stopReceiving(): Promise<void> {
    this.receiving = false;
    this.unsubscribe?.();
    clearInterval(this.sweepTimer);
    for (const timer of this.retryTimers) clearTimeout(timer);
    this.retryTimers.clear();
    await this.reader.stop();
  }

  async close(): Promise<void> {
    await this.stopReceiving();
    await this.publisher.stop();
    await this.markPublished().catch(() => undefined); // what was settled meanwhile; else delivered again after a restart
    this.pending.clear();
    await this.pool?.end().catch(() => undefined);
    this.pool = undefined;
  }

  private lost(error: unknown): void {
    // Nothing is lost: unsettled rows stay unpublished and the next sweep reads them again.
    this.healthy = false;
    this.logger.warn(`event log transport: ${(error as Error).message}`);
  }

  /** One page of unpublished rows handed over; true if there may be more right away. */
  private async readPage(): Promise<boolean> {
    const pool = this.pool;
    if (!pool || !this.receiving) return false;
    const limit = this.options.batchSize;
    if (this.pending.size >= limit * 4) return false; // settlements tick the reader again
    const { rows } = await pool.query<EventRow>(
      `select ${EVENT_ROW_COLUMNS} from event_log
        where published_at is null and id <> all($1::uuid[])
        order by position limit $2`,
      [[...this.pending.keys()], limit],
    );
    this.healthy = true;
    if (rows.length === 0) return false;
    const { rows: dead } = await pool.query<{ projection: string; event_id: string }>(
      'select projection, event_id from dead_letters where event_id = any($1::uuid[])',
      [rows.map((r) => r.id)],
    );
    const deadLettered = new Set(dead.map((d) => `${d.projection}/${d.event_id}`));
    for (const row of rows) {
      const subscribed = this.subscriptions.filter((s) => s.eventTypes.includes(row.type)).map((s) => s.name);
      const parked = subscribed.filter((name) => deadLettered.has(`${name}/${row.id}`));
      const subscribers = subscribed.filter((name) => !parked.includes(name));
      const entry: Pending = { row, unsettled: new Set(subscribers), parked: new Set(parked) };
      this.pending.set(row.id, entry);
      if (subscribers.length === 0) this.settled(entry);
      for (const subscription of subscribers) this.receive(this.delivery(entry, subscription, 0, 0));
    }
    return rows.length === limit;
  }

  private delivery(entry: Pending, subscription: string, attempts: number, transientRetries: number): Delivery {
    const { row } = entry;
    return {
      subscription,
      messageId: row.id,
      content: toEnvelope(row),
      attempts,
      transientRetries,
      traceContext: row.metadata ? contextFrom(row.metadata) : ROOT_CONTEXT,
      attributes: { 'messaging.system': 'emporium.event_log', 'messaging.destination.name': subscription },
      ack: () => {
        this.settled(entry, subscription);
        return Promise.resolve();
      },
      retryLater: (retry: Retry) => {
        this.redeliverLater(entry, subscription, retry.attempts, retry.transientRetries, retry.delayMs);
        return Promise.resolve();
      },
      deadLetter: async ({ reason, attempts: total }) => {
        try {
          const pool = this.pool;
          if (!pool) throw new Error('the event log transport is closed');
          await pool.query(
            `insert into dead_letters (projection, event_id, position, type, attempts, error)
             values ($1, $2, $3, $4, $5, $6) on conflict do nothing`,
            [subscription, row.id, row.position, row.type, total, reason.slice(0, 1000)],
          );
        } catch (error) {
          // Not parked (the database is away): this subscription gets the row again after a sweep
          // interval, with the same counts, and decides again.
          this.redeliverLater(entry, subscription, attempts, transientRetries, this.options.sweepIntervalMs);
          throw error;
        }
        entry.parked.add(subscription);
        this.settled(entry, subscription);
      },
    };
  }

  /** Hands the row to `subscription` again after `delayMs` (unless stopping: it stays unpublished). */
  private redeliverLater(
    entry: Pending,
    subscription: string,
    attempts: number,
    transientRetries: number,
    delayMs: number,
  ): void {
    if (!this.receiving) return;
    const timer = setTimeout(() => {
      this.retryTimers.delete(timer);
      if (this.receiving) this.receive(this.delivery(entry, subscription, attempts, transientRetries));
    }, delayMs);
    this.retryTimers.add(timer);
  }

  private settled(entry: Pending, subscription?: string): void {
    if (subscription !== undefined) entry.unsettled.delete(subscription);
    if (entry.unsettled.size > 0) return;
    this.toPublish.add(entry.row.id);
    this.publisher.tick();
  }

  /**
   * Marks every fully settled row published, in one statement, unless one of its dead letters
   * was replayed (removed) meanwhile: such a row stays unpublished and is delivered again.
   */
  private async markPublished(): Promise<boolean> {
    const pool = this.pool;
    if (!pool || this.toPublish.size === 0) return false;
    const ids = [...this.toPublish];
    this.toPublish.clear();
    const parked = ids.map((id) => [...(this.pending.get(id)?.parked ?? [])].join(','));
    try {
      await pool.query(
        `update event_log e set published_at = now()
           from unnest($1::uuid[], $2::text[]) r(id, parked)
          where e.id = r.id
            and (r.parked = '' or (select count(*) from dead_letters d
                  where d.event_id = r.id and d.projection = any(string_to_array(r.parked, ',')))
                 = cardinality(string_to_array(r.parked, ',')))`,
        [ids, parked],
      );
    } catch (error) {
      for (const id of ids) this.toPublish.add(id); // the next sweep tries again
      throw error;
    }
    for (const id of ids) this.pending.delete(id);
    this.reader.tick();
    return this.toPublish.size > 0;
  }
}
