import { Entity, PrimaryKey, Property } from '@mikro-orm/decorators/legacy';
import type { EventMetadata } from '@emporium/contracts';

/**
 * One row per domain event, written in the command's transaction (transactional outbox).
 * `tx_id` (xid8, a column default) groups the events of one command; `published_at` is set by
 * the relay after the broker confirmed the message.
 */
@Entity({ tableName: 'event_log' })
export class EventLogEntry {
  @PrimaryKey({ type: 'bigint', autoincrement: true })
  position!: string;

  @Property({ type: 'uuid' })
  id!: string;

  @Property({ type: 'string', length: 100 })
  type!: string;

  @Property({ type: 'integer' })
  schemaVersion!: number;

  @Property({ type: 'string', length: 50 })
  aggregateType!: string;

  @Property({ type: 'uuid' })
  aggregateId!: string;

  @Property({ type: 'integer' })
  aggregateVersion!: number;

  @Property({ type: 'datetime' })
  occurredAt!: Date;

  @Property({ type: 'json' })
  payload!: object;

  @Property({ type: 'json' })
  metadata!: EventMetadata;

  @Property({ type: 'datetime', nullable: true })
  publishedAt?: Date;

  constructor(fields: Omit<EventLogEntry, 'position' | 'publishedAt'>) {
    Object.assign(this, fields);
  }
}
