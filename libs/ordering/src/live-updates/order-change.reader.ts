import { MikroORM } from '@mikro-orm/postgresql';
import { readDb } from '@emporium/database';
import { sql } from 'kysely';
import { ORDER_STREAM_EVENTS, type OrderChange, type OrderStreamEventType, type StreamCursor } from './order-change.js';

const TYPES = Object.keys(ORDER_STREAM_EVENTS);

interface ChangeRow {
  position: string;
  tx_id: string;
  type: OrderStreamEventType;
  order_id: string;
  customer_id: string | null;
  version: number;
  occurred_at: Date | string;
}

/**
 * Reads order events from `event_log` gap-safely. A position comes from a sequence, so a lower
 * position can commit after a higher one; reading "position > last" would skip it for good.
 * Instead a row is read only once its transaction id is below the snapshot's xmin (every
 * transaction that started before it has ended, so nothing can still commit before it), in
 * (transaction id, position) order. The customer of a paid or shipped order is the one its
 * placed event names.
 */
export class OrderChangeReader {
  constructor(private readonly orm: MikroORM) {}

  /** The last order event with nothing uncommitted before it: where a stream opened now starts. */
  async head(): Promise<StreamCursor | undefined> {
    const { rows } = await sql<{ position: string; tx_id: string }>`
      select position::text as position, tx_id::text as tx_id from event_log
       where type = any(${TYPES}::text[]) and tx_id < pg_snapshot_xmin(pg_current_snapshot())
       order by tx_id desc, position desc limit 1`.execute(readDb(this.orm));
    return rows[0] && { txId: rows[0].tx_id, position: rows[0].position };
  }

  /** The cursor of the event at `position` and when it occurred; undefined if there is none. */
  async at(position: string): Promise<(StreamCursor & { occurredAt: Date }) | undefined> {
    const { rows } = await sql<{ tx_id: string; occurred_at: Date | string }>`
      select tx_id::text as tx_id, occurred_at from event_log where position = ${position}::bigint`.execute(
      readDb(this.orm),
    );
    return rows[0] && { txId: rows[0].tx_id, position, occurredAt: new Date(rows[0].occurred_at) };
  }

  /** Up to `limit` order events after `cursor`, oldest first, each final (see the class comment). */
  async after(cursor: StreamCursor, limit: number): Promise<OrderChange[]> {
    const { rows } =
      await sql<ChangeRow>`select e.position::text as position, e.tx_id::text as tx_id, e.type, e.aggregate_id::text as order_id,
              e.aggregate_version as version, e.occurred_at,
              coalesce(e.payload->>'customerId',
                (select p.payload->>'customerId' from event_log p
                  where p.aggregate_id = e.aggregate_id and p.aggregate_version = 1)) as customer_id
         from event_log e
        where e.type = any(${TYPES}::text[])
          and e.tx_id >= ${cursor.txId}::xid8 and (e.tx_id, e.position) > (${cursor.txId}::xid8, ${cursor.position}::bigint)
          and e.tx_id < pg_snapshot_xmin(pg_current_snapshot())
        order by e.tx_id, e.position
        limit ${limit}`.execute(readDb(this.orm));
    return rows.map((row) => ({
      txId: row.tx_id,
      position: row.position,
      type: row.type,
      orderId: row.order_id,
      customerId: row.customer_id,
      status: ORDER_STREAM_EVENTS[row.type],
      version: row.version,
      occurredAt: new Date(row.occurred_at).toISOString(),
    }));
  }
}
