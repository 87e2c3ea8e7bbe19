import { Inject, Injectable } from '@nestjs/common';
import { HealthIndicatorService, type HealthIndicatorResult } from '@nestjs/terminus';
import { MikroORM } from '@mikro-orm/postgresql';
import { sql } from 'kysely';
import { AppConfig } from '@emporium/config';
import { ProjectionProgress } from '@emporium/projections';
import { deadLetterStore, withTimeout, type DeadLetterStore } from '@emporium/messaging';
import { scrapedGauge } from '@emporium/telemetry';

export const HEALTH_SOURCES = Symbol('HEALTH_SOURCES');

/** What an app tells the health checks about itself. */
export interface HealthSources {
  /**
   * This process's messaging link, reported as the check `broker` (RabbitMQ) or
   * `event-log-transport` (the in-process transport); none for an api without a relay.
   */
  messaging?: { check: string; connected(): boolean };
  /** Projections whose lag and dead letters this app reports. */
  projections: ReadonlyArray<{ name: string; eventTypes: readonly string[] }>;
  /** Whether to report the outbox backlog (the api, which runs the relay). */
  outbox: boolean;
  /** More checks of this app, by name (e.g. `webhooks`: endpoints, backlog, disabled ones). */
  checks?: ReadonlyArray<{ name: string; read(): Promise<{ up: boolean; data: Record<string, unknown> }> }>;
  /**
   * Dependencies the app works without (degraded): reported with their state, never failing
   * the report; `degraded: true` in the state says it is running without it.
   */
  degradable?: ReadonlyArray<{ check: string; state(): Record<string, unknown> }>;
}

/** Each check has its own timeout: a hung dependency makes a check fail, never hang the probe. */
@Injectable()
export class HealthChecks {
  private readonly deadLetters: DeadLetterStore;

  constructor(
    private readonly indicator: HealthIndicatorService,
    private readonly orm: MikroORM,
    private readonly progress: ProjectionProgress,
    private readonly config: AppConfig,
    @Inject(HEALTH_SOURCES) private readonly sources: HealthSources,
  ) {
    this.deadLetters = deadLetterStore(config, sources.projections, 'health');
    // The same readings, for Prometheus, taken at scrape time.
    scrapedGauge(
      'emporium_projection_lag_positions',
      'Event-log positions between the newest event a projection subscribes to and the newest it applied',
      ['projection'],
      async (set) => {
        const db = this.orm.em.fork().getKysely();
        for (const p of sources.projections) {
          const { rows } = await sql<{ behind: string }>`select
              (select coalesce(max(m.position), 0) from unnest(${[...p.eventTypes]}::text[]) t(type),
                lateral (select max(position) as position from event_log e where e.type = t.type) m)
            - coalesce((select max(position) from projection_inbox where projection = ${p.name}), 0) as behind`.execute(
            db,
          );
          set({ projection: p.name }, Math.max(0, Number(rows[0].behind)));
        }
      },
    );
    if (sources.outbox) {
      scrapedGauge('emporium_outbox_backlog', 'Events not yet published', [], async (set) => {
        set({}, (await this.outboxState()).backlog);
      });
      scrapedGauge('emporium_outbox_oldest_age_seconds', 'Age of the oldest unpublished event', [], async (set) => {
        set({}, (await this.outboxState()).oldestAgeMs / 1000);
      });
    }
    scrapedGauge(
      'emporium_projection_lag_events',
      'Events a projection has not applied yet',
      ['projection'],
      async (set) => {
        for (const p of sources.projections)
          set({ projection: p.name }, (await this.progress.lag(p.name, p.eventTypes)).events);
      },
    );
    scrapedGauge(
      'emporium_projection_lag_seconds',
      'Age of the oldest event a projection has not applied',
      ['projection'],
      async (set) => {
        for (const p of sources.projections)
          set({ projection: p.name }, (await this.progress.lag(p.name, p.eventTypes)).oldestSeconds);
      },
    );
    scrapedGauge(
      'emporium_dead_letters',
      'Messages in each projection dead-letter queue',
      ['projection'],
      async (set) => {
        for (const p of sources.projections) set({ projection: p.name }, await this.deadLetters.depth(p.name));
      },
    );
  }

  private async outboxState(): Promise<{ backlog: number; oldestAgeMs: number }> {
    const { rows } = await sql<{ backlog: string; oldest: Date | null }>`select count(*) as backlog,
        min(occurred_at) as oldest from event_log where published_at is null`.execute(this.orm.em.fork().getKysely());
    return {
      backlog: Number(rows[0].backlog),
      oldestAgeMs: rows[0].oldest ? Date.now() - new Date(rows[0].oldest).getTime() : 0,
    };
  }

  all(): Array<() => Promise<HealthIndicatorResult>> {
    const checks = [() => this.database()];
    if (this.sources.messaging) checks.push(() => this.messaging());
    if (this.sources.outbox) checks.push(() => this.outbox());
    for (const p of this.sources.projections) {
      checks.push(() => this.projectionLag(p.name, p.eventTypes));
      checks.push(() => this.deadLetterCheck(p.name));
    }
    for (const extra of this.sources.checks ?? []) checks.push(() => this.guard(extra.name, () => extra.read()));
    for (const d of this.sources.degradable ?? []) {
      checks.push(() => Promise.resolve(this.indicator.check(d.check).up(d.state())));
    }
    return checks;
  }

  async close(): Promise<void> {
    await this.deadLetters.close();
  }

  private async guard(
    key: string,
    work: () => Promise<{ up: boolean; data: Record<string, unknown> }>,
  ): Promise<HealthIndicatorResult> {
    const check = this.indicator.check(key);
    try {
      const { up, data } = await withTimeout(work(), this.config.health.timeoutMs, key);
      return up ? check.up(data) : check.down(data);
    } catch (error) {
      return check.down({ message: (error as Error).message });
    }
  }

  private database(): Promise<HealthIndicatorResult> {
    return this.guard('database', async () => {
      await sql`select 1`.execute(this.orm.em.fork().getKysely());
      return { up: true, data: {} };
    });
  }

  private messaging(): Promise<HealthIndicatorResult> {
    const messaging = this.sources.messaging!;
    return this.guard(messaging.check, () => Promise.resolve({ up: messaging.connected(), data: {} }));
  }

  private outbox(): Promise<HealthIndicatorResult> {
    return this.guard('outbox', async () => {
      const { backlog, oldestAgeMs } = await this.outboxState();
      return {
        up: oldestAgeMs <= this.config.health.outboxMaxAgeMs,
        data: { backlog, oldestAgeMs, maxAgeMs: this.config.health.outboxMaxAgeMs },
      };
    });
  }

  private projectionLag(name: string, eventTypes: readonly string[]): Promise<HealthIndicatorResult> {
    return this.guard(`projection:${name}`, async () => {
      const lag = await this.progress.lag(name, eventTypes);
      return {
        up: lag.events <= this.config.health.projectionMaxLag,
        data: { lagEvents: lag.events, lagSeconds: lag.oldestSeconds },
      };
    });
  }

  private deadLetterCheck(name: string): Promise<HealthIndicatorResult> {
    return this.guard(`dlq:${name}`, async () => {
      const depth = await this.deadLetters.depth(name);
      return { up: depth <= this.config.health.dlqMaxDepth, data: { depth, maxDepth: this.config.health.dlqMaxDepth } };
    });
  }
}
