import { Inject, Injectable, Logger } from '@nestjs/common';
import { MikroORM } from '@mikro-orm/postgresql';
import { sql } from 'kysely';
import type { EventEnvelope } from '@emporium/contracts';
import { EVENT_ROW_COLUMNS, toEnvelope, type EventRow } from '../write/event-row.js';
import { isDatabaseUnavailable, isTransientDatabaseError } from '@emporium/database';
import { projectionBatchSize, SpanKind, withSpan } from '@emporium/telemetry';
import { PoisonMessageError, settle, type Db, type Projection, type ProjectionSettlement } from './projection.js';
import { GroupCommit } from './group-commit.js';

export const PROJECTIONS = Symbol('PROJECTIONS');

/** At most this many deliveries share a transaction (the broker's prefetch bounds it too). */
export const MAX_APPLY_BATCH = 64;

export type ApplyOutcome = 'applied' | 'duplicate';

/**
 * Applies one delivered event to one projection, exactly once and in aggregate-version order,
 * whatever the broker does (redelivery, reordering, several consumers on one queue):
 *
 * 1. the event must exist in `event_log` (the source of truth); the stored copy is applied, so a
 *    forged or corrupted message body cannot change a read model;
 * 2. the aggregate's stream row is locked, serialising concurrent consumers per aggregate;
 * 3. an event at or below the stream version is a duplicate: nothing changes;
 * 4. a gap (an earlier version not applied yet) is filled from `event_log` first;
 * 5. each applied event is written to the inbox in the same transaction as the read model.
 *
 * Deliveries of one projection that arrive while a transaction is being written are applied
 * together in the next one (group commit, see GroupCommit): the steps above run for each event in
 * turn inside one transaction, in (aggregate, version) order so two instances lock stream rows in
 * the same order. A projection whose rows are shared across aggregates opts out
 * (`groupCommit: false`): its locks could not be ordered across a batch. If any event of a batch
 * fails, the batch rolls back and each event is applied again in its own transaction, to be
 * settled on its own; if the database itself failed, all are settled as transient at once.
 */
@Injectable()
export class ProjectionRunner {
  private readonly logger = new Logger(ProjectionRunner.name);
  private readonly byName: Map<string, Projection>;
  private readonly batches = new Map<string, GroupCommit<EventEnvelope, ProjectionSettlement>>();

  constructor(
    private readonly orm: MikroORM,
    @Inject(PROJECTIONS) projections: Projection[],
  ) {
    this.byName = new Map(projections.map((p) => [p.name, p]));
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
   * Applies a delivery (with those arriving alongside it, in one transaction) and classifies a
   * failure for the transport (see ProjectionSettlement). Resolves once its transaction committed.
   */
  settle(name: string, delivered: EventEnvelope): Promise<ProjectionSettlement> {
    let batch = this.batches.get(name);
    if (!batch) {
      batch = new GroupCommit(
        this.projection(name).groupCommit === false ? 1 : MAX_APPLY_BATCH,
        (events, links) => this.handleBatch(name, events, links),
        (event) => {
          projectionBatchSize.observe({ projection: name }, 1);
          return settle(this.handle(name, event), isTransientDatabaseError);
        },
      );
      this.batches.set(name, batch);
    }
    return batch.submit(delivered);
  }

  /** Several deliveries in one transaction, all or nothing; throws if any of them fails. */
  private async handleBatch(
    name: string,
    delivered: EventEnvelope[],
    links: Parameters<typeof withSpan>[1]['links'],
  ): Promise<ProjectionSettlement[]> {
    const order = delivered
      .map((event, index) => ({ event, index }))
      .sort(
        (a, b) =>
          a.event.aggregateId.localeCompare(b.event.aggregateId) || a.event.aggregateVersion - b.event.aggregateVersion,
      );
    let outcomes: ApplyOutcome[];
    try {
      outcomes = await withSpan(
        `project ${name} batch`,
        {
          kind: SpanKind.INTERNAL,
          links,
          attributes: { 'emporium.projection': name, 'emporium.batch.size': delivered.length },
        },
        () =>
          this.orm.em.fork().transactional(async (em) => {
            const db = em.getKysely();
            const applied: ApplyOutcome[] = new Array<ApplyOutcome>(delivered.length);
            for (const { event, index } of order) applied[index] = await this.handleWithin(db, name, event);
            return applied;
          }),
      );
    } catch (error) {
      // The database is unreachable or out of resources: every delivery would fail alone too, one
      // slow timeout after another. Settle them all as transient (the rollback kept nothing).
      // Anything else (a poison event, a deadlock) is sorted out one delivery at a time.
      if (!isDatabaseUnavailable(error)) throw error;
      const reason = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
      this.logger.warn(`${name}: a batch of ${delivered.length} hit a database failure: ${reason}`);
      return delivered.map(() => ({ ok: false, kind: 'transient', reason }));
    }
    projectionBatchSize.observe({ projection: name }, delivered.length);
    return outcomes.map((outcome) => ({ ok: true, outcome }));
  }

  /**
   * `schema`: apply into a rebuild schema (its read-model, inbox and stream tables shadow the live
   * ones through `search_path`; `event_log` still resolves to the live one).
   */
  async handle(name: string, delivered: EventEnvelope, schema?: string): Promise<ApplyOutcome> {
    return this.orm.em.fork().transactional((em) => this.handleWithin(em.getKysely(), name, delivered, schema));
  }

  /**
   * `handle` inside a transaction the caller owns (a rebuild's swap applies its last events in
   * the swap's own transaction: the embedded database has one session, so a second connection
   * would wait for the swap to end).
   */
  async handleWithin(db: Db, name: string, delivered: EventEnvelope, schema?: string): Promise<ApplyOutcome> {
    const projection = this.projection(name);
    if (!projection.eventTypes.includes(delivered.type)) {
      throw new PoisonMessageError(`projection ${name} does not handle ${delivered.type}`);
    }
    let stored: EventEnvelope | undefined;
    if (schema !== undefined) {
      if (!/^[a-z_][a-z0-9_]*$/.test(schema)) throw new Error(`invalid schema name ${schema}`);
      await sql`select set_config('search_path', ${`${schema}, public`}, true)`.execute(db);
      stored = await this.loadEvent(db, delivered.id);
    } else {
      // Live applies share this lock; a rebuild's swap takes it exclusively for its last moment.
      // Taken in the statement that loads the event (one round trip instead of two), before any
      // read-model table is touched; an event that is not found is refused below anyway.
      stored = await this.loadEvent(db, delivered.id, `projection:${name}`);
    }
    if (!stored) throw new PoisonMessageError(`event ${delivered.id} is not in event_log`);
    if (stored.type !== delivered.type || stored.aggregateId !== delivered.aggregateId) {
      throw new PoisonMessageError(`event ${delivered.id} does not match event_log (type or aggregate differs)`);
    }
    const current = await this.lockStream(db, name, stored.aggregateId);
    if (stored.aggregateVersion <= current) return 'duplicate';

    if (stored.aggregateVersion > current + 1) {
      const missing = await this.loadStream(db, stored.aggregateId, current, stored.aggregateVersion);
      if (missing.length !== stored.aggregateVersion - current - 1) {
        // Cannot happen for committed streams (version n+1 commits after n); retry later if it does.
        throw new Error(`stream ${stored.aggregateId} has a gap before version ${stored.aggregateVersion}`);
      }
      for (const event of missing) await this.applyOne(db, projection, event);
      this.logger.debug(`${name}: filled ${missing.length} event(s) of ${stored.aggregateId} from event_log`);
    }
    // The stream version advances and the inbox records the event in one statement (the CTE's
    // update always runs); the read model changes only if the inbox did not hold the event yet.
    const recorded = await sql`with advanced as (
          update projection_streams set version = ${stored.aggregateVersion}
           where projection = ${name} and aggregate_id = ${stored.aggregateId})
        insert into projection_inbox (projection, event_id, position)
        values (${name}, ${stored.id}, ${stored.position}) on conflict do nothing`.execute(db);
    if (recorded.numAffectedRows !== 0n) await projection.apply(stored, db);
    return 'applied';
  }

  private async applyOne(db: Db, projection: Projection, event: EventEnvelope): Promise<void> {
    if (!projection.eventTypes.includes(event.type)) return; // e.g. sales ignores "paid"
    const inserted = await sql`insert into projection_inbox (projection, event_id, position)
        values (${projection.name}, ${event.id}, ${event.position}) on conflict do nothing`.execute(db);
    if (inserted.numAffectedRows === 0n) return;
    await projection.apply(event, db);
  }

  /**
   * The stream row, created at version 0 if new, locked until the transaction ends; one statement:
   * `on conflict do update` locks the existing row as `select … for update` would (a concurrent
   * consumer of the same aggregate waits here) and returns its committed version.
   */
  private async lockStream(db: Db, projection: string, aggregateId: string): Promise<number> {
    const { rows } = await sql<{ version: number }>`insert into projection_streams (projection, aggregate_id, version)
        values (${projection}, ${aggregateId}, 0)
        on conflict (projection, aggregate_id) do update set version = projection_streams.version
        returning version`.execute(db);
    return rows[0].version;
  }

  /** With `sharedLock`: also takes that transaction-scoped shared advisory lock, in the same statement. */
  private async loadEvent(db: Db, id: string, sharedLock?: string): Promise<EventEnvelope | undefined> {
    const { rows } =
      sharedLock === undefined
        ? await sql<EventRow>`select ${sql.raw(EVENT_ROW_COLUMNS)} from event_log where id = ${id}`.execute(db)
        : await sql<EventRow>`select pg_advisory_xact_lock_shared(hashtext(${sharedLock})) as locked,
              ${sql.raw(EVENT_ROW_COLUMNS)} from event_log where id = ${id}`.execute(db);
    return rows[0] ? toEnvelope(rows[0]) : undefined;
  }

  private async loadStream(db: Db, aggregateId: string, after: number, before: number): Promise<EventEnvelope[]> {
    const { rows } = await sql<EventRow>`select ${sql.raw(EVENT_ROW_COLUMNS)} from event_log
        where aggregate_id = ${aggregateId} and aggregate_version > ${after} and aggregate_version < ${before}
        order by aggregate_version`.execute(db);
    return rows.map(toEnvelope);
  }
}
