import { Injectable } from '@nestjs/common';
import { MikroORM } from '@mikro-orm/postgresql';
import { sql } from 'kysely';

export type PositionState = 'applied' | 'pending' | 'unknown';

const LAG_WINDOW = 10_000;

/**
 * Read-your-writes: has a projection applied every event of the command that returned
 * `position`? One command is one transaction, so its events share `event_log.tx_id`; each one
 * the projection subscribes to must be in its inbox. Earlier events of the same aggregates are
 * applied before them (version order), so the client also sees everything its write built on.
 */
@Injectable()
export class ProjectionProgress {
  constructor(private readonly orm: MikroORM) {}

  async state(projection: string, eventTypes: readonly string[], position: string): Promise<PositionState> {
    const db = this.orm.em.fork().getKysely();
    const { rows } = await sql<{ known: boolean; pending: boolean }>`
      with command as (select tx_id from event_log where position = ${position})
      select exists (select 1 from command) as known,
             exists (
               select 1 from event_log e
                where e.tx_id = (select tx_id from command)
                  and e.type = any(${[...eventTypes]}::text[])
                  and not exists (select 1 from projection_inbox i
                                   where i.projection = ${projection} and i.event_id = e.id)
             ) as pending`.execute(db);
    const row = rows[0];
    if (!row.known) return 'unknown';
    return row.pending ? 'pending' : 'applied';
  }

  /**
   * Events this projection has not applied yet among the newest LAG_WINDOW positions, and how old
   * the oldest is. Bounded so a health probe stays cheap however long the log grows.
   */
  async lag(projection: string, eventTypes: readonly string[]): Promise<{ events: number; oldestSeconds: number }> {
    const db = this.orm.em.fork().getKysely();
    const { rows } = await sql<{ events: string; oldest: Date | null }>`
      select count(*) as events, min(e.occurred_at) as oldest from event_log e
       where e.position > (select coalesce(max(position), 0) - ${LAG_WINDOW} from event_log)
         and e.type = any(${[...eventTypes]}::text[])
         and not exists (select 1 from projection_inbox i where i.projection = ${projection} and i.event_id = e.id)`.execute(
      db,
    );
    const oldest = rows[0].oldest;
    return {
      events: Number(rows[0].events),
      oldestSeconds: oldest ? Math.max(0, (Date.now() - new Date(oldest).getTime()) / 1000) : 0,
    };
  }
}
