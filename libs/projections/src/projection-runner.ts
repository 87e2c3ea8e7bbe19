import { Inject, Injectable, Logger } from '@nestjs/common';
import { MikroORM } from '@mikro-orm/postgresql';
import { context, trace, type Span } from '@opentelemetry/api';
import { suppressTracing } from '@opentelemetry/core';
import { sql, type KyselyPlugin } from 'kysely';
import { parseEvent, PoisonMessageError, type DomainEvent, type EventEnvelope } from '@emporium/contracts';
import { EVENT_ROW_COLUMNS, toEnvelope, type EventRow } from '@emporium/domain';
import { isDatabaseUnavailable } from '@emporium/database';
import { projectionBatchSize, projectionStatements, SpanKind, withSpan } from '@emporium/telemetry';
import type { Db, Projection } from './projection.js';
import { GroupCommit } from './group-commit.js';

export const PROJECTIONS = Symbol('PROJECTIONS');

/** At most this many deliveries share a transaction (the broker's prefetch bounds it too). */
export const MAX_APPLY_BATCH = 64;

export type ApplyOutcome = 'applied' | 'duplicate';

/**
 * Applies delivered events to a projection, exactly once and in aggregate-version order, whatever
 * the transport does (redelivery, reordering, several consumers on one queue). A batch of
 * deliveries costs the same few statements whatever its size:
 *
 * 1. one statement takes the projection's shared lock, locks the stream rows of the batch's
 *    aggregates (created at version 0 if new) in ascending id order, so concurrent consumers
 *    serialise per aggregate and never deadlock, and loads every event from `event_log` by id:
 *    the stored copy is applied, so a forged or corrupted message cannot change a read model,
 *    and it is parsed against its type's schema (a payload that does not fit is poison);
 * 2. an event at or below its stream's version is a duplicate; a gap (an earlier version not
 *    applied yet) is filled from `event_log` in one more statement, only when there is one;
 * 3. one statement advances the streams and writes the inbox; events the inbox already held
 *    are not applied again;
 * 4. the projection applies the new events set-based (Projection.apply).
 *
 * Deliveries that arrive while a batch is being written go together in the next (GroupCommit). If
 * a batch fails it rolls back and each delivery is applied again alone, to be settled on its own;
 * if the database itself is unavailable, every delivery of the batch fails with that error at once.
 */
@Injectable()
export class ProjectionRunner {
  private readonly logger = new Logger(ProjectionRunner.name);
  private readonly byName: Map<string, Projection>;
  private readonly batches = new Map<string, GroupCommit<EventEnvelope, ApplyOutcome>>();

  constructor(
    private readonly orm: MikroORM,
    @Inject(PROJECTIONS) projections: Projection[],
  ) {
    this.byName = new Map(projections.map((p) => [p.name, p]));
  }

  private kysely(): Db {
    return this.orm.em.getKysely();
  }

  get projections(): Projection[] {
    return [...this.byName.values()];
  }

  projection(name: string): Projection {
    const projection = this.byName.get(name);
    if (!projection) throw new Error(`unknown projection "${name}"`);
    return projection;
  }

  /**
   * Applies a delivery (with those arriving alongside it, in one transaction). Resolves once its
   * transaction committed; rejects with the reason it could not be applied.
   */
  apply(name: string, delivered: EventEnvelope): Promise<ApplyOutcome> {
    let batch = this.batches.get(name);
    if (!batch) {
      this.projection(name);
      batch = new GroupCommit(
        MAX_APPLY_BATCH,
        (events, links) => this.applyTogether(name, events, links),
        async (event) => (await this.applyInTransaction(name, [event]))[0],
      );
      this.batches.set(name, batch);
    }
    return batch.submit(delivered);
  }

  /** Several deliveries in one transaction, all or nothing; throws if any of them fails. */
  private async applyTogether(
    name: string,
    delivered: EventEnvelope[],
    links: Parameters<typeof withSpan>[1]['links'],
  ): Promise<Array<PromiseSettledResult<ApplyOutcome>>> {
    try {
      const outcomes = await withSpan(
        `project ${name} batch`,
        {
          kind: SpanKind.INTERNAL,
          links,
          attributes: { 'emporium.projection': name, 'emporium.batch.size': delivered.length },
        },
        () => this.applyInTransaction(name, delivered),
      );
      return outcomes.map((value) => ({ status: 'fulfilled', value }));
    } catch (error) {
      // The database is unreachable or out of resources: every delivery would fail alone too, one
      // slow timeout after another. Fail them all with it (the rollback kept nothing). Anything
      // else (a poison event, a deadlock) is sorted out one delivery at a time.
      if (!isDatabaseUnavailable(error)) throw error;
      this.logger.warn(`${name}: a batch of ${delivered.length} hit a database failure: ${(error as Error).message}`);
      return delivered.map(() => ({ status: 'rejected', reason: error }));
    }
  }

  /**
   * `delivered` in one transaction of their own. The transaction is traced as the active span
   * (the delivery's, or the batch's) with one event per statement, instead of a span per
   * statement: the trace still shows where the time went, at a fraction of the cost.
   */
  async applyInTransaction(name: string, delivered: EventEnvelope[], schema?: string): Promise<ApplyOutcome[]> {
    const span = trace.getActiveSpan();
    span?.addEvent('begin');
    const outcomes = await context.with(suppressTracing(context.active()), () =>
      // A plain Kysely transaction on the ORM's pool: the runner writes no entities, so it skips
      // the unit of work's fork and bookkeeping.
      this.kysely()
        .transaction()
        .execute((trx) => this.applyWithin(trx, name, delivered, schema, span)),
    );
    span?.addEvent('commit');
    projectionStatements.inc({ projection: name }, 2); // BEGIN and COMMIT
    projectionBatchSize.observe({ projection: name }, delivered.length);
    return outcomes;
  }

  /**
   * Applies `delivered` inside a transaction the caller owns, answering per delivery. `schema`:
   * apply into a rebuild schema (its read-model, inbox and stream tables shadow the live ones
   * through `search_path`; `event_log` still resolves to the live one); a rebuild's swap applies
   * its last events in its own transaction this way.
   */
  async applyWithin(
    tx: Db,
    name: string,
    delivered: EventEnvelope[],
    schema?: string,
    span?: Span,
  ): Promise<ApplyOutcome[]> {
    const projection = this.projection(name);
    const db = tx.withPlugin(countStatements(name));
    const mark = (step: string): void => void span?.addEvent(step);
    for (const event of delivered) {
      if (!projection.eventTypes.includes(event.type as never)) {
        throw new PoisonMessageError(`projection ${name} does not handle ${event.type}`);
      }
    }
    const ids = [...new Set(delivered.map((e) => e.id))];
    // One statement: the projection's shared lock (live applies share it; a rebuild's swap takes
    // it exclusively for its last moment), then the stream rows of the batch's aggregates locked in
    // ascending id order (created at version 0 if new; `on conflict do update` locks an existing
    // row as `for update` would, so a concurrent consumer of the same aggregate waits here), and
    // the stored events with their streams' committed versions.
    const aggregates = [...new Set(delivered.map((e) => e.aggregateId))].sort();
    if (schema !== undefined) {
      if (!/^[a-z_][a-z0-9_]*$/.test(schema)) throw new Error(`invalid schema name ${schema}`);
      await sql`select set_config('search_path', ${`${schema}, public`}, true)`.execute(db);
    }
    const lock =
      schema === undefined
        ? sql`select pg_advisory_xact_lock_shared(hashtext(${`projection:${name}`}))`
        : sql`select 1`;
    mark('load events, lock streams');
    const { rows } = await sql<EventRow & { stream_version: number }>`
        with lock as materialized (${lock}),
        streams as (
          insert into projection_streams (projection, aggregate_id, version)
          select ${name}, a, 0 from lock, unnest(${aggregates}::uuid[]) a order by a
          on conflict (projection, aggregate_id) do update set version = projection_streams.version
          returning aggregate_id, version)
        select ${sql.raw(EVENT_ROW_COLUMNS.replace(/(^|, )/g, '$1e.'))}, s.version as stream_version
          from event_log e join streams s on s.aggregate_id = e.aggregate_id
         where e.id = any(${ids}::uuid[])`.execute(db);
    const stored = new Map(rows.map((row) => [row.id, toEnvelope(row)]));
    for (const event of delivered) {
      const found = stored.get(event.id);
      if (!found) throw new PoisonMessageError(`event ${event.id} is not in event_log`);
      if (found.type !== event.type || found.aggregateId !== event.aggregateId) {
        throw new PoisonMessageError(`event ${event.id} does not match event_log (type or aggregate differs)`);
      }
    }
    const current = new Map(rows.map((row) => [row.aggregate_id, row.stream_version]));

    // Per aggregate: the events newer than its stream, and any gap before the newest of them.
    const newest = new Map<string, number>();
    for (const event of stored.values()) {
      const version = current.get(event.aggregateId)!;
      if (event.aggregateVersion > version) {
        newest.set(event.aggregateId, Math.max(newest.get(event.aggregateId) ?? 0, event.aggregateVersion));
      }
    }
    const gaps = [...newest].filter(([aggregate, top]) => {
      let expected = current.get(aggregate)! + 1;
      const versions = new Set(
        [...stored.values()].filter((e) => e.aggregateId === aggregate).map((e) => e.aggregateVersion),
      );
      for (; expected < top; expected++) if (!versions.has(expected)) return true;
      return false;
    });
    const sequence = [...stored.values()].filter((e) => e.aggregateVersion > current.get(e.aggregateId)!);
    if (gaps.length > 0) {
      mark('fill gaps');
      const filled = await this.loadGaps(
        db,
        gaps.map(([aggregate, top]) => ({ aggregate, after: current.get(aggregate)!, before: top })),
      );
      for (const event of filled) if (!stored.has(event.id)) sequence.push(event);
    }
    sequence.sort(
      (a, b) =>
        (a.aggregateId < b.aggregateId ? -1 : a.aggregateId > b.aggregateId ? 1 : 0) ||
        a.aggregateVersion - b.aggregateVersion,
    );
    for (const [aggregate, top] of newest) {
      const versions = sequence.filter((e) => e.aggregateId === aggregate).map((e) => e.aggregateVersion);
      if (versions.length !== top - current.get(aggregate)!) {
        // Cannot happen for committed streams (version n+1 commits after n); retry later if it does.
        throw new Error(`stream ${aggregate} has a gap before version ${top}`);
      }
    }

    if (newest.size > 0) {
      // Only the events this projection subscribes to are recorded and applied; the stream still
      // advances past the others (sales does not read "paid", say).
      const subscribed = sequence.filter((e) => projection.eventTypes.includes(e.type as never));
      mark('advance streams, record inbox');
      const { rows: recorded } = await sql<{ event_id: string }>`with advanced as (
            update projection_streams s set version = v.version
              from unnest(${[...newest.keys()]}::uuid[], ${[...newest.values()]}::int[]) v(id, version)
             where s.projection = ${name} and s.aggregate_id = v.id)
          insert into projection_inbox (projection, event_id, position)
          select ${name}, e.id, e.position
            from unnest(${subscribed.map((e) => e.id)}::uuid[], ${subscribed.map((e) => e.position)}::bigint[]) e(id, position)
          on conflict do nothing
          returning event_id`.execute(db);
      const fresh = new Set(recorded.map((r) => r.event_id));
      const toApply: DomainEvent[] = subscribed.filter((e) => fresh.has(e.id)).map(parseEvent);
      if (toApply.length > 0) {
        mark(`apply ${toApply.length} to ${name}`);
        await projection.apply(toApply, db);
      }
      if (gaps.length > 0) this.logger.debug(`${name}: filled the gaps of ${gaps.length} stream(s) from event_log`);
    }
    // A redelivery inside the same batch is a duplicate of the first copy.
    const answered = new Set<string>();
    return delivered.map((event) => {
      const found = stored.get(event.id)!;
      const fresh = found.aggregateVersion > current.get(found.aggregateId)! && !answered.has(event.id);
      answered.add(event.id);
      return fresh ? 'applied' : 'duplicate';
    });
  }

  /** The events strictly between `after` and `before` of each aggregate, in one statement. */
  private async loadGaps(
    db: Db,
    ranges: Array<{ aggregate: string; after: number; before: number }>,
  ): Promise<EventEnvelope[]> {
    const { rows } = await sql<EventRow>`select ${sql.raw(EVENT_ROW_COLUMNS.replace(/(^|, )/g, '$1e.'))}
        from unnest(${ranges.map((r) => r.aggregate)}::uuid[], ${ranges.map((r) => r.after)}::int[],
                    ${ranges.map((r) => r.before)}::int[]) g(id, after, before)
        join event_log e on e.aggregate_id = g.id and e.aggregate_version > g.after and e.aggregate_version < g.before`.execute(
      db,
    );
    return rows.map(toEnvelope);
  }
}

/** Counts every statement a projection's transaction sends (the metric the benchmark reads). */
function countStatements(projection: string): KyselyPlugin {
  return {
    transformQuery(args) {
      projectionStatements.inc({ projection });
      return args.node;
    },
    transformResult: (args) => Promise.resolve(args.result),
  };
}
