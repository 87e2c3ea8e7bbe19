import { Inject, Injectable, Logger } from '@nestjs/common';
import { MikroORM } from '@mikro-orm/postgresql';
import { trace, type Span } from '@opentelemetry/api';
import { sql, type KyselyPlugin } from 'kysely';
import { parseEvent, PoisonMessageError, type DomainEvent, type EventEnvelope } from '@emporium/contracts';
import { EVENT_ROW_COLUMNS, toEnvelope, type EventRow } from '@emporium/domain';
import { isDatabaseUnavailable, withStatementsAsEvents, type ReadDb } from '@emporium/database';
import { projectionBatchSize, projectionStatements, SpanKind, withSpan } from '@emporium/telemetry';
import type { Db, Projection } from './projection.js';
import { GroupCommit } from './group-commit.js';

export const PROJECTIONS = Symbol('PROJECTIONS');

/** At most this many deliveries share a transaction (each subscription's prefetch bounds its share). */
export const MAX_APPLY_BATCH = 128;

export type ApplyOutcome = 'applied' | 'duplicate';

/** One delivery: an event for one projection. */
export interface Delivered {
  projection: string;
  event: EventEnvelope;
}

/** `event_log`'s columns, qualified for a query that aliases it `e`. */
const EVENT_COLUMNS_OF_E = EVENT_ROW_COLUMNS.replace(/(^|, )/g, '$1e.');

const key = (projection: string, aggregate: string): string => `${projection}/${aggregate}`;
const byStream = (a: EventEnvelope, b: EventEnvelope): number =>
  (a.aggregateId < b.aggregateId ? -1 : a.aggregateId > b.aggregateId ? 1 : 0) ||
  a.aggregateVersion - b.aggregateVersion;

/**
 * Applies delivered events to their projections, exactly once and in aggregate-version order,
 * whatever the transport does (redelivery, reordering, several consumers on one queue). A batch of
 * deliveries, for any mix of projections, costs the same few statements whatever its size:
 *
 * 1. one statement takes the shared lock of each projection in the batch, locks the stream rows of
 *    its (projection, aggregate) pairs in one global order (created at version 0 if new), so
 *    concurrent consumers serialise per stream and never deadlock, and loads every event from
 *    `event_log` by id with its streams' versions: the stored copy is applied, so a forged or
 *    corrupted message cannot change a read model, and it is parsed against its type's schema
 *    first (a payload that does not fit is poison);
 * 2. an event at or below its stream's version is a duplicate; a gap (an earlier version not
 *    applied yet) is filled from `event_log` in one more statement, only when there is one;
 * 3. one statement advances the streams and writes the inbox; events the inbox already held are
 *    not applied again;
 * 4. each projection applies its new events set-based (Projection.apply).
 *
 * Deliveries that arrive in the same turn of the event loop, or while a batch is being written,
 * go together in the next transaction (GroupCommit): the three projections' deliveries of one
 * order share one. If a batch fails it rolls back and each delivery is applied again alone, to be
 * settled on its own; if the database itself is unavailable, every delivery of the batch fails
 * with that error at once.
 */
@Injectable()
export class ProjectionRunner {
  private readonly logger = new Logger(ProjectionRunner.name);
  private readonly byName: Map<string, Projection>;
  private readonly batches: GroupCommit<Delivered, ApplyOutcome>;

  constructor(
    private readonly orm: MikroORM,
    @Inject(PROJECTIONS) projections: Projection[],
  ) {
    this.byName = new Map(projections.map((p) => [p.name, p]));
    this.batches = new GroupCommit(
      MAX_APPLY_BATCH,
      (items, links) => this.applyTogether(items, links),
      async (item) => (await this.applyInTransaction([item]))[0],
    );
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
  apply(projection: string, event: EventEnvelope): Promise<ApplyOutcome> {
    this.projection(projection);
    return this.batches.submit({ projection, event });
  }

  /** Several deliveries in one transaction, all or nothing; throws if any of them fails. */
  private async applyTogether(
    items: Delivered[],
    links: Parameters<typeof withSpan>[1]['links'],
  ): Promise<Array<PromiseSettledResult<ApplyOutcome>>> {
    try {
      const outcomes = await withSpan(
        'project batch',
        { kind: SpanKind.INTERNAL, links, attributes: { 'emporium.batch.size': items.length } },
        () => this.applyInTransaction(items),
      );
      return outcomes.map((value) => ({ status: 'fulfilled', value }));
    } catch (error) {
      // The database is unreachable or out of resources: every delivery would fail alone too, one
      // slow timeout after another. Fail them all with it (the rollback kept nothing). Anything
      // else (a poison event, a deadlock) is sorted out one delivery at a time.
      if (!isDatabaseUnavailable(error)) throw error;
      this.logger.warn(`a batch of ${items.length} hit a database failure: ${(error as Error).message}`);
      return items.map(() => ({ status: 'rejected', reason: error }));
    }
  }

  /**
   * Deliveries in one transaction of their own. The transaction is traced as the active span
   * (the delivery's, or the batch's) with one event per step, instead of a span per statement:
   * the trace still shows where the time went, at a fraction of the cost.
   */
  async applyInTransaction(items: Delivered[], schema?: string): Promise<ApplyOutcome[]> {
    const span = trace.getActiveSpan();
    span?.addEvent('begin');
    const counter = { statements: 2 }; // BEGIN and COMMIT
    const outcomes = await withStatementsAsEvents(() =>
      // A plain Kysely transaction on the ORM's pool: the runner writes no entities, so it skips
      // the unit of work's fork and bookkeeping.
      this.kysely()
        .transaction()
        .execute((trx) => this.applyItems(trx.withPlugin(countStatements(counter)), items, schema, span)),
    );
    span?.addEvent('commit');
    // Statements are shared by the batch's projections: each is charged its share of deliveries.
    const perProjection = new Map<string, number>();
    for (const { projection } of items) perProjection.set(projection, (perProjection.get(projection) ?? 0) + 1);
    for (const [projection, n] of perProjection) {
      projectionStatements.inc({ projection }, (counter.statements * n) / items.length);
      projectionBatchSize.observe({ projection }, n);
    }
    return outcomes;
  }

  /**
   * Applies `events` of one projection inside a transaction the caller owns. `schema`: apply into
   * a rebuild schema (its read-model, inbox and stream tables shadow the live ones through
   * `search_path`; `event_log` still resolves to the live one); a rebuild's swap applies its last
   * events in its own transaction this way.
   */
  applyWithin(tx: Db, projection: string, events: EventEnvelope[], schema?: string): Promise<ApplyOutcome[]> {
    return this.applyItems(
      tx,
      events.map((event) => ({ projection, event })),
      schema,
    );
  }

  private async applyItems(db: Db, items: Delivered[], schema?: string, span?: Span): Promise<ApplyOutcome[]> {
    const mark = (step: string): void => void span?.addEvent(step);
    for (const { projection, event } of items) {
      if (!this.projection(projection).eventTypes.includes(event.type as never)) {
        throw new PoisonMessageError(`projection ${projection} does not handle ${event.type}`);
      }
    }
    if (schema !== undefined) {
      if (!/^[a-z_][a-z0-9_]*$/.test(schema)) throw new Error(`invalid schema name ${schema}`);
      await sql`select set_config('search_path', ${`${schema}, public`}, true)`.execute(db);
    }
    const names = [...new Set(items.map((i) => i.projection))].sort();
    const streams = [...new Map(items.map((i) => [key(i.projection, i.event.aggregateId), i])).values()]
      .map((i) => [i.projection, i.event.aggregateId] as const)
      .sort(([p1, a1], [p2, a2]) => (p1 < p2 ? -1 : p1 > p2 ? 1 : a1 < a2 ? -1 : a1 > a2 ? 1 : 0));
    // Live applies share their projections' locks; a rebuild's swap takes its one exclusively for
    // its last moment. Stream rows are locked in (projection, aggregate) order, as sorted above
    // (`on conflict do update` locks an existing row as `for update` would).
    // `count()` makes the locks one row, whatever the number of projections: the insert below
    // cross-joins it, so it cannot start before every lock is held, and its rows are not multiplied.
    const locks =
      schema === undefined
        ? sql`select count(pg_advisory_xact_lock_shared(hashtext('projection:' || p))) from unnest(${names}::text[]) p`
        : sql`select 1`;
    mark('load events, lock streams');
    const { rows } = await sql<EventRow & { projection: string; stream_version: number }>`
        with locks as materialized (${locks}),
        streams as (
          insert into projection_streams (projection, aggregate_id, version)
          select k.p, k.a, 0 from locks, unnest(${streams.map(([p]) => p)}::text[], ${streams.map(([, a]) => a)}::uuid[]) k(p, a)
          on conflict (projection, aggregate_id) do update set version = projection_streams.version
          returning projection, aggregate_id, version)
        select ${sql.raw(EVENT_COLUMNS_OF_E)}, s.projection, s.version as stream_version
          from event_log e join streams s on s.aggregate_id = e.aggregate_id
         where e.id = any(${[...new Set(items.map((i) => i.event.id))]}::uuid[])`.execute(db);
    const stored = new Map(rows.map((row) => [row.id, toEnvelope(row)]));
    const current = new Map(rows.map((row) => [key(row.projection, row.aggregate_id), row.stream_version]));
    for (const { event } of items) {
      const found = stored.get(event.id);
      if (!found) throw new PoisonMessageError(`event ${event.id} is not in event_log`);
      if (found.type !== event.type || found.aggregateId !== event.aggregateId) {
        throw new PoisonMessageError(`event ${event.id} does not match event_log (type or aggregate differs)`);
      }
    }
    const versionOf = (projection: string, aggregate: string): number => current.get(key(projection, aggregate))!;

    // Per stream: the delivered events newer than it, and any gap before the newest of them.
    const fresh = new Map<string, EventEnvelope[]>(); // stream key -> events, new ones only
    for (const { projection, event } of items) {
      const found = stored.get(event.id)!;
      if (found.aggregateVersion <= versionOf(projection, found.aggregateId)) continue;
      const k = key(projection, found.aggregateId);
      const list = fresh.get(k) ?? [];
      if (!list.some((e) => e.id === found.id)) list.push(found);
      fresh.set(k, list);
    }
    const gaps: Array<{ projection: string; aggregate: string; after: number; before: number }> = [];
    for (const [k, list] of fresh) {
      const [projection] = k.split('/');
      const aggregate = list[0].aggregateId;
      const after = versionOf(projection, aggregate);
      const top = Math.max(...list.map((e) => e.aggregateVersion));
      if (list.length !== top - after) gaps.push({ projection, aggregate, after, before: top });
    }
    if (gaps.length > 0) {
      mark('fill gaps');
      const filled = await this.loadGaps(db, gaps);
      for (const gap of gaps) {
        const list = fresh.get(key(gap.projection, gap.aggregate))!;
        for (const event of filled) {
          if (
            event.aggregateId === gap.aggregate &&
            event.aggregateVersion > gap.after &&
            !list.some((e) => e.id === event.id)
          ) {
            list.push(event);
          }
        }
        if (list.length !== Math.max(...list.map((e) => e.aggregateVersion)) - gap.after) {
          // Cannot happen for committed streams (version n+1 commits after n); retry later if it does.
          throw new Error(`stream ${gap.aggregate} has a gap before version ${gap.before}`);
        }
      }
      this.logger.debug(`filled the gaps of ${gaps.length} stream(s) from event_log`);
    }

    if (fresh.size > 0) {
      // Streams advance past every event; only those a projection subscribes to are recorded in
      // its inbox and applied (sales does not read "paid", say).
      const advanced = [...fresh].map(([k, list]) => ({
        projection: k.split('/')[0],
        aggregate: list[0].aggregateId,
        version: Math.max(...list.map((e) => e.aggregateVersion)),
      }));
      const recordable = [...fresh].flatMap(([k, list]) => {
        const projection = this.projection(k.split('/')[0]);
        return list
          .filter((e) => projection.eventTypes.includes(e.type as never))
          .map((event) => ({ projection: projection.name, event }));
      });
      mark('advance streams, record inbox');
      const { rows: recorded } = await sql<{ projection: string; event_id: string }>`with advanced as (
            update projection_streams s set version = v.version
              from unnest(${advanced.map((a) => a.projection)}::text[], ${advanced.map((a) => a.aggregate)}::uuid[],
                          ${advanced.map((a) => a.version)}::int[]) v(projection, id, version)
             where s.projection = v.projection and s.aggregate_id = v.id)
          insert into projection_inbox (projection, event_id, position)
          select * from unnest(${recordable.map((r) => r.projection)}::text[], ${recordable.map((r) => r.event.id)}::uuid[],
                               ${recordable.map((r) => r.event.position)}::bigint[])
          on conflict do nothing
          returning projection, event_id`.execute(db);
      const inInbox = new Set(recorded.map((r) => key(r.projection, r.event_id)));
      for (const name of names) {
        const toApply: DomainEvent[] = recordable
          .filter((r) => r.projection === name && inInbox.has(key(name, r.event.id)))
          .map((r) => r.event)
          .sort(byStream)
          .map(parseEvent);
        if (toApply.length === 0) continue;
        mark(`apply ${toApply.length} to ${name}`);
        // The same transaction, seen through the read-model schema the projections write.
        await this.projection(name).apply(toApply, db as ReadDb);
      }
    }
    // A redelivery inside the same batch is a duplicate of the first copy.
    const answered = new Set<string>();
    return items.map(({ projection, event }) => {
      const found = stored.get(event.id)!;
      const k = key(projection, event.id);
      const isNew = found.aggregateVersion > versionOf(projection, found.aggregateId) && !answered.has(k);
      answered.add(k);
      return isNew ? 'applied' : 'duplicate';
    });
  }

  /** The events strictly between `after` and `before` of each aggregate, in one statement. */
  private async loadGaps(
    db: Db,
    ranges: Array<{ aggregate: string; after: number; before: number }>,
  ): Promise<EventEnvelope[]> {
    const { rows } = await sql<EventRow>`select ${sql.raw(EVENT_COLUMNS_OF_E)}
        from unnest(${ranges.map((r) => r.aggregate)}::uuid[], ${ranges.map((r) => r.after)}::int[],
                    ${ranges.map((r) => r.before)}::int[]) g(id, after, before)
        join event_log e on e.aggregate_id = g.id and e.aggregate_version > g.after and e.aggregate_version < g.before`.execute(
      db,
    );
    return rows.map(toEnvelope);
  }

  private kysely(): Db {
    return this.orm.em.getKysely();
  }
}

/**
 * Counts the statements a transaction sends (the benchmark reads the metric made of them): once
 * per result, since Kysely also runs `transformQuery` over every subquery a builder embeds.
 */
function countStatements(counter: { statements: number }): KyselyPlugin {
  return {
    transformQuery: (args) => args.node,
    transformResult(args) {
      counter.statements += 1;
      return Promise.resolve(args.result);
    },
  };
}
