import { Logger } from '@nestjs/common';
import { BaseRpcContext, Server, type CustomTransportStrategy } from '@nestjs/microservices';
import pg from 'pg';
import { envelopeProblem, type EventEnvelope } from '@emporium/contracts';
import { contextFrom } from '@emporium/telemetry';
import { dispatchToProjection } from '../projection/dispatch.js';
import type { ProjectionSettlement } from '../projection/projection.js';
import { eventLogCommits } from '../write/commit-signal.js';
import { EVENT_ROW_COLUMNS, toEnvelope, type EventRow } from '../write/event-row.js';

/** Handed to `@EventPattern(<projection>)` handlers as `@Ctx()` by the in-process transport. */
export class EventLogMessageContext extends BaseRpcContext<[EventEnvelope, string]> {
  get envelope(): EventEnvelope {
    return this.args[0];
  }
  get projection(): string {
    return this.args[1];
  }
}

export interface EventLogTransportOptions {
  databaseUrl: string;
  projections: ReadonlyArray<{ name: string; eventTypes: readonly string[] }>;
  /** Backoff before each retry of a failed apply; after the last, the event is dead-lettered. */
  retryDelaysMs: number[];
  batchSize: number;
  sweepIntervalMs: number;
}

/** One event on its way to the projections that subscribe to its type. */
interface Delivery {
  row: EventRow;
  envelope: EventEnvelope;
  /** Projections that have neither applied it nor dead-lettered it yet. */
  unsettled: Set<string>;
  attempts: Map<string, number>;
  /** Retries waiting on a timer. */
  scheduled: number;
}

/**
 * The in-process transport (no AMQP_URL): projections consume `event_log` directly, with the
 * guarantees they have on RabbitMQ, so projection code cannot tell the difference
 * (docs/adr/0011-embedded-mode.md):
 *
 * - at-least-once from the event log: it takes unpublished rows oldest first and marks a row
 *   published only when every subscribed projection applied it or dead-lettered it; a crash
 *   before that delivers it again (the runner's inbox makes that a no-op);
 * - order and dedupe: the same ProjectionRunner (stream lock, gap fill, inbox) applies each event;
 * - retries with backoff (PROJECTION_RETRY_DELAYS_MS), then the `dead_letters` table with the
 *   reason and attempts; poison at once; a database outage is retried for as long as it lasts;
 *   a failing event never holds up the others;
 * - woken by commits in this process, with a sweep as the safety net.
 */
export class EventLogTransport extends Server implements CustomTransportStrategy {
  protected override readonly logger = new Logger(EventLogTransport.name);
  private pool: pg.Pool | undefined;
  private readonly pending = new Map<string, Delivery>();
  private readonly retryTimers = new Set<NodeJS.Timeout>();
  private readonly inFlight = new Set<Promise<void>>();
  private sweepTimer: NodeJS.Timeout | undefined;
  private unsubscribe: (() => void) | undefined;
  private draining: Promise<void> | undefined;
  private again = false;
  private closing = false;
  private healthy = false;

  constructor(private readonly options: EventLogTransportOptions) {
    super();
  }

  /** False while the event log cannot be read. */
  get isConnected(): boolean {
    return this.healthy;
  }

  async listen(callback: (error?: unknown) => void): Promise<void> {
    for (const projection of this.options.projections) {
      if (!this.getHandlerByPattern(projection.name)) {
        callback(new Error(`no @EventPattern('${projection.name}') handler is registered`));
        return;
      }
    }
    this.pool = new pg.Pool({
      connectionString: this.options.databaseUrl,
      application_name: 'emporium-event-log-transport',
      max: 2,
      idleTimeoutMillis: 30_000,
      connectionTimeoutMillis: 5000,
    });
    this.pool.on('error', (error) => this.logger.warn(`event log connection lost: ${error.message}`));
    this.unsubscribe = eventLogCommits.subscribe(() => this.tick());
    this.sweepTimer = setInterval(() => this.tick(), this.options.sweepIntervalMs);
    this._status$.next('connected');
    this.tick();
    callback();
  }

  /** Finishes the applies in flight; pending retries are dropped (their rows stay unpublished). */
  async close(): Promise<void> {
    this.closing = true;
    this.unsubscribe?.();
    clearInterval(this.sweepTimer);
    for (const timer of this.retryTimers) clearTimeout(timer);
    this.retryTimers.clear();
    await this.draining?.catch(() => undefined);
    await Promise.allSettled([...this.inFlight]);
    await this.pool?.end().catch(() => undefined);
    this.pool = undefined;
    this._status$.next('disconnected');
  }

  on(): never {
    throw new Error('EventLogTransport does not emit events');
  }

  unwrap<T>(): T {
    return this.pool as T;
  }

  /** Delivers everything pending now; resolves when the backlog seen is settled or scheduled. */
  async drainNow(): Promise<void> {
    this.tick();
    await this.draining;
  }

  private tick(): void {
    if (this.closing) return;
    if (this.draining) {
      this.again = true;
      return;
    }
    this.draining = this.run()
      .then(() => {
        this.healthy = true;
      })
      .catch((error: unknown) => {
        // Nothing is lost: unsettled rows stay unpublished and the next sweep reads them again.
        this.healthy = false;
        this.logger.warn(`event log transport: ${(error as Error).message}`);
      })
      .finally(() => {
        this.draining = undefined;
        if (this.again && !this.closing) {
          this.again = false;
          this.tick();
        }
      });
  }

  private async run(): Promise<void> {
    const pool = this.pool;
    if (!pool) return;
    for (;;) {
      this.again = false;
      if (this.closing) return;
      const { rows } = await pool.query<EventRow>(
        `select ${EVENT_ROW_COLUMNS} from event_log
          where published_at is null and id <> all($1::uuid[])
          order by position limit $2`,
        [[...this.pending.keys()], this.options.batchSize],
      );
      if (rows.length === 0) return;
      const dead = await pool.query<{ projection: string; event_id: string }>(
        'select projection, event_id from dead_letters where event_id = any($1::uuid[])',
        [rows.map((r) => r.id)],
      );
      const deadLettered = new Set(dead.rows.map((d) => `${d.projection}/${d.event_id}`));
      const published: string[] = [];
      const batch: Delivery[] = [];
      try {
        for (const row of rows) {
          if (this.closing) break;
          const subscribers = this.options.projections
            .filter((p) => p.eventTypes.includes(row.type) && !deadLettered.has(`${p.name}/${row.id}`))
            .map((p) => p.name);
          const delivery: Delivery = {
            row,
            envelope: toEnvelope(row),
            unsettled: new Set(subscribers),
            attempts: new Map(),
            scheduled: 0,
          };
          this.pending.set(row.id, delivery);
          batch.push(delivery);
          for (const projection of subscribers) await this.deliver(delivery, projection);
          if (delivery.unsettled.size === 0) published.push(row.position);
        }
        await this.markPublished(published);
      } catch (error) {
        // Rows without a retry on a timer are read again by the next sweep.
        for (const delivery of batch) if (delivery.scheduled === 0) this.pending.delete(delivery.row.id);
        throw error;
      }
      if (rows.length < this.options.batchSize && !this.again) return;
    }
  }

  private async deliver(delivery: Delivery, projection: string): Promise<void> {
    const settlement = await this.apply(delivery.envelope, projection);
    if (settlement.ok) {
      delivery.unsettled.delete(projection);
      return;
    }
    const retryDelays = this.options.retryDelaysMs;
    const attempts = delivery.attempts.get(projection) ?? 0;
    if (settlement.kind === 'transient') {
      // The database is down or overloaded: not the event's fault. Retry for as long as it takes.
      this.scheduleRetry(delivery, projection, retryDelays[retryDelays.length - 1] ?? 1000, settlement.reason);
    } else if (settlement.kind === 'failed' && attempts < retryDelays.length) {
      delivery.attempts.set(projection, attempts + 1);
      this.scheduleRetry(delivery, projection, retryDelays[attempts], settlement.reason);
    } else {
      await this.deadLetter(delivery, projection, attempts + 1, settlement.reason);
    }
  }

  private apply(envelope: EventEnvelope, projection: string): Promise<ProjectionSettlement> {
    const problem = envelopeProblem(envelope);
    if (problem) return Promise.resolve({ ok: false, kind: 'poison', reason: `invalid envelope: ${problem}` });
    const handler = this.getHandlerByPattern(projection);
    if (!handler) return Promise.resolve({ ok: false, kind: 'failed', reason: `no handler for ${projection}` });
    return dispatchToProjection(
      handler,
      (result) => this.transformToObservable(result),
      projection,
      envelope,
      contextFrom(envelope.metadata),
      new EventLogMessageContext([envelope, projection]),
    );
  }

  private scheduleRetry(delivery: Delivery, projection: string, delayMs: number, reason: string): void {
    this.logger.debug(`${projection}: event ${delivery.envelope.id} retried in ${delayMs} ms: ${reason}`);
    delivery.scheduled += 1;
    const timer = setTimeout(() => {
      this.retryTimers.delete(timer);
      delivery.scheduled -= 1;
      this.track(this.retry(delivery, projection));
    }, delayMs);
    this.retryTimers.add(timer);
  }

  private async retry(delivery: Delivery, projection: string): Promise<void> {
    if (this.closing) return;
    try {
      await this.deliver(delivery, projection);
      if (delivery.unsettled.size === 0) await this.markPublished([delivery.row.position]);
    } catch (error) {
      // Could not record the outcome: forget the delivery; the sweep reads the row again.
      this.pending.delete(delivery.row.id);
      this.logger.warn(`${projection}: event ${delivery.envelope.id}: ${(error as Error).message}`);
    }
  }

  private async deadLetter(delivery: Delivery, projection: string, attempts: number, reason: string): Promise<void> {
    const { row } = delivery;
    await this.pool?.query(
      `insert into dead_letters (projection, event_id, position, type, attempts, error)
       values ($1, $2, $3, $4, $5, $6) on conflict do nothing`,
      [projection, row.id, row.position, row.type, attempts, reason.slice(0, 1000)],
    );
    delivery.unsettled.delete(projection);
    this.logger.warn(
      `${projection}: event ${row.id} (${row.type}) dead-lettered after ${attempts} attempt(s): ${reason}`,
    );
  }

  private async markPublished(positions: string[]): Promise<void> {
    if (positions.length === 0 || !this.pool) return;
    try {
      await this.pool.query('update event_log set published_at = now() where position = any($1::bigint[])', [
        positions,
      ]);
    } finally {
      const done = new Set(positions);
      for (const [id, delivery] of this.pending) {
        if (done.has(delivery.row.position)) this.pending.delete(id);
      }
    }
  }

  private track(work: Promise<void>): void {
    this.inFlight.add(work);
    void work.finally(() => this.inFlight.delete(work));
  }
}
