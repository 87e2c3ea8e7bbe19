import pg from 'pg';
import { requireDatabaseUrl, type AppConfig } from '@emporium/config';
import { deadLetterStore, type DeadLetter, type DeadLetterStore, type Subscription } from '@emporium/messaging';

export type { DeadLetter } from '@emporium/messaging';

export interface ProjectionStatus {
  projection: string;
  appliedPosition: string;
  headPosition: string;
  lagEvents: number;
  lagSeconds: number;
  deadLetters: number | string;
}

/**
 * Operator actions on the running system, through the delivery port's dead-letter store, so they
 * work the same on RabbitMQ and on the in-process transport. Every state-changing action is
 * written to `log` as it happens.
 */
export class Operations {
  private store: DeadLetterStore | undefined;

  constructor(
    private readonly config: AppConfig,
    private readonly projections: readonly Subscription[],
    private readonly log: (line: string) => void,
  ) {}

  /** Throws, naming the known ones, unless `name` is a projection. */
  projection(name: string): Subscription {
    const projection = this.projections.find((p) => p.name === name);
    if (!projection) {
      throw new Error(`unknown projection "${name}": one of ${this.projections.map((p) => p.name).join(', ')}`);
    }
    return projection;
  }

  async status(): Promise<ProjectionStatus[]> {
    const db = new pg.Client({ connectionString: requireDatabaseUrl(this.config, 'the CLI') });
    await db.connect();
    try {
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
        const depth = await this.deadLetters()
          .depth(p.name)
          .catch((error: Error) => `unknown (${error.message})`);
        out.push({
          projection: p.name,
          appliedPosition: r.applied ?? '0',
          headPosition: r.head ?? '0',
          lagEvents: r.lag,
          lagSeconds: r.oldest ? Math.round((Date.now() - new Date(r.oldest).getTime()) / 100) / 10 : 0,
          deadLetters: depth,
        });
      }
      return out;
    } finally {
      await db.end();
    }
  }

  list(projection: string): Promise<DeadLetter[]> {
    this.projection(projection);
    return this.deadLetters().list(projection);
  }

  /** Delivers dead letters again (attempts reset); returns how many. */
  async replay(projection: string, messageId: string | undefined): Promise<number> {
    this.projection(projection);
    const replayed = await this.deadLetters().replay(projection, messageId);
    for (const letter of replayed) {
      this.log(`replayed ${letter.messageId} (${letter.routingKey}) of ${projection}: ${letter.error}`);
    }
    return replayed.length;
  }

  async discard(projection: string, messageId: string | undefined): Promise<number> {
    this.projection(projection);
    const discarded = await this.deadLetters().discard(projection, messageId);
    for (const letter of discarded) {
      this.log(`discarded ${letter.messageId} (${letter.routingKey}) of ${projection}: ${letter.error}`);
    }
    return discarded.length;
  }

  async close(): Promise<void> {
    await this.store?.close();
  }

  private deadLetters(): DeadLetterStore {
    this.store ??= deadLetterStore(this.config, this.projections, 'the CLI');
    return this.store;
  }
}
