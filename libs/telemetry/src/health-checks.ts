import { Inject, Injectable } from '@nestjs/common';
import { HealthIndicatorService, type HealthIndicatorResult } from '@nestjs/terminus';
import { MikroORM } from '@mikro-orm/postgresql';
import { sql } from 'kysely';
import { AppConfig } from '@emporium/config';
import { BrokerConnection, ProjectionProgress, ProjectionTopology } from '@emporium/messaging';

export const HEALTH_SOURCES = Symbol('HEALTH_SOURCES');

/** What an app tells the health checks about itself. */
export interface HealthSources {
  /** Is this process's broker connection up? */
  brokerConnected(): boolean;
  /** Projections whose lag and dead letters this app reports. */
  projections: ReadonlyArray<{ name: string; eventTypes: readonly string[] }>;
  /** Whether to report the outbox backlog (the api, which runs the relay). */
  outbox: boolean;
}

function withTimeout<T>(work: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not answer within ${ms} ms`)), ms);
  });
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}

/** Each check has its own timeout: a hung dependency makes a check fail, never hang the probe. */
@Injectable()
export class HealthChecks {
  private readonly dlqBroker: BrokerConnection;

  constructor(
    private readonly indicator: HealthIndicatorService,
    private readonly orm: MikroORM,
    private readonly progress: ProjectionProgress,
    private readonly config: AppConfig,
    @Inject(HEALTH_SOURCES) private readonly sources: HealthSources,
  ) {
    this.dlqBroker = new BrokerConnection(config.amqp.url, 'emporium-health');
  }

  all(): Array<() => Promise<HealthIndicatorResult>> {
    const checks = [() => this.database(), () => this.broker()];
    if (this.sources.outbox) checks.push(() => this.outbox());
    for (const p of this.sources.projections) {
      checks.push(() => this.projectionLag(p.name, p.eventTypes));
      checks.push(() => this.deadLetters(p.name, p.eventTypes));
    }
    return checks;
  }

  async close(): Promise<void> {
    await this.dlqBroker.close();
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

  private broker(): Promise<HealthIndicatorResult> {
    return this.guard('broker', () => Promise.resolve({ up: this.sources.brokerConnected(), data: {} }));
  }

  private outbox(): Promise<HealthIndicatorResult> {
    return this.guard('outbox', async () => {
      const { rows } = await sql<{ backlog: string; oldest: Date | null }>`select count(*) as backlog,
          min(occurred_at) as oldest from event_log where published_at is null`.execute(this.orm.em.fork().getKysely());
      const ageMs = rows[0].oldest ? Date.now() - new Date(rows[0].oldest).getTime() : 0;
      return {
        up: ageMs <= this.config.health.outboxMaxAgeMs,
        data: { backlog: Number(rows[0].backlog), oldestAgeMs: ageMs, maxAgeMs: this.config.health.outboxMaxAgeMs },
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

  private deadLetters(name: string, eventTypes: readonly string[]): Promise<HealthIndicatorResult> {
    return this.guard(`dlq:${name}`, async () => {
      const topology = new ProjectionTopology(
        this.config.amqp.exchange,
        this.config.amqp.queuePrefix,
        name,
        eventTypes,
        [],
      );
      await this.dlqBroker.start();
      const depth = await this.dlqBroker.withChannel(async (channel) => {
        const queue = await channel.checkQueue(topology.deadLetterQueue);
        return queue.messageCount;
      });
      return { up: depth <= this.config.health.dlqMaxDepth, data: { depth, maxDepth: this.config.health.dlqMaxDepth } };
    });
  }
}
