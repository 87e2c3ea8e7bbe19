import { MikroORM } from '@mikro-orm/postgresql';
import { sql } from 'kysely';
import type { EventEnvelope } from '@emporium/contracts';
import type { Db } from './projection.js';
import type { ProjectionRunner } from './projection-runner.js';

const BATCH = 500;

export interface RebuildProgress {
  (applied: number, total: number): void;
}

/**
 * Rebuilds a projection from `event_log` into fresh tables beside the live ones (a scratch
 * schema), while the live projection keeps applying and queries keep answering; then swaps them
 * in one short transaction that holds the projection's lock exclusively:
 *
 * 1. copy the table definitions (columns, generated columns, constraints, indexes);
 * 2. apply every event the projection subscribes to, through the same runner (inbox, version
 *    order), with `search_path` pointing at the scratch schema;
 * 3. take the lock (live applies wait), apply what arrived meanwhile, drop the live tables, move
 *    the new ones in with their original index names, replace the projection's inbox and stream
 *    rows, commit.
 */
export class ProjectionRebuild {
  constructor(
    private readonly orm: MikroORM,
    private readonly runner: ProjectionRunner,
  ) {}

  async rebuild(name: string, progress: RebuildProgress = () => undefined): Promise<{ events: number }> {
    const projection = this.runner.projection(name);
    const schema = `rebuild_${name}_${Date.now()}`;
    const tables = [...projection.tables, 'projection_inbox', 'projection_streams'];
    const db = this.orm.em.fork().getKysely();
    await sql`create schema ${sql.id(schema)}`.execute(db);
    try {
      for (const table of tables) {
        await sql`create table ${sql.id(schema, table)} (like ${sql.id('public', table)} including all)`.execute(db);
      }
      const { rows } = await sql<{ n: number }>`select count(*)::int as n from event_log
          where type = any(${[...projection.eventTypes]}::text[])`.execute(db);
      let applied = 0;
      const total = rows[0].n;
      progress(applied, total);
      for (;;) {
        const done = await this.applyPending(db, name, projection.eventTypes, schema);
        applied += done;
        progress(applied, Math.max(total, applied));
        if (done < BATCH) break;
      }

      await this.orm.em.fork().transactional(async (em) => {
        const tx: Db = em.getKysely();
        await sql`select pg_advisory_xact_lock(hashtext(${`projection:${name}`}))`.execute(tx);
        // Events that arrived during the rebuild (live applies are waiting on the lock now).
        while ((await this.applyPending(tx, name, projection.eventTypes, schema, true)) > 0);
        for (const table of projection.tables) {
          const { rows: original } = await sql<{ indexname: string; indexdef: string }>`select indexname, indexdef
              from pg_indexes where schemaname = 'public' and tablename = ${table}`.execute(tx);
          await sql`drop table ${sql.id('public', table)}`.execute(tx);
          await sql`alter table ${sql.id(schema, table)} set schema public`.execute(tx);
          const { rows: moved } = await sql<{ indexname: string; indexdef: string }>`select indexname, indexdef
              from pg_indexes where schemaname = 'public' and tablename = ${table}`.execute(tx);
          const shape = (def: string): string => def.replace(/INDEX \S+ ON \S+/, 'INDEX ON');
          for (const index of moved) {
            const match = original.find((o) => shape(o.indexdef) === shape(index.indexdef));
            if (match && match.indexname !== index.indexname) {
              await sql`alter index ${sql.id('public', index.indexname)} rename to ${sql.id(match.indexname)}`.execute(
                tx,
              );
            }
          }
        }
        for (const table of ['projection_inbox', 'projection_streams']) {
          await sql`delete from ${sql.id('public', table)} where projection = ${name}`.execute(tx);
          await sql`insert into ${sql.id('public', table)} select * from ${sql.id(schema, table)}`.execute(tx);
        }
      });
      return { events: applied };
    } finally {
      await sql`drop schema if exists ${sql.id(schema)} cascade`.execute(db);
    }
  }

  /** Applies up to BATCH events the scratch inbox does not have yet, oldest first. */
  private async applyPending(
    db: Db,
    name: string,
    eventTypes: readonly string[],
    schema: string,
    withinTransaction = false,
  ): Promise<number> {
    const { rows } = await sql<{ id: string; type: string; aggregate_id: string }>`select e.id, e.type, e.aggregate_id
        from event_log e
       where e.type = any(${[...eventTypes]}::text[])
         and not exists (select 1 from ${sql.id(schema, 'projection_inbox')} i where i.event_id = e.id)
       order by e.position limit ${BATCH}`.execute(db);
    if (rows.length === 0) return 0;
    const events = rows.map((row) => ({ id: row.id, type: row.type, aggregateId: row.aggregate_id }) as EventEnvelope);
    // The whole page in one set-based batch: the runner loads the stored events by id itself.
    if (withinTransaction) await this.runner.applyWithin(db, name, events, schema);
    else
      await this.runner.applyInTransaction(
        events.map((event) => ({ projection: name, event })),
        schema,
      );
    return rows.length;
  }
}
