import { eventSchemas, type EventPayload, type EventType } from '@emporium/contracts';

export interface RecordedEvent {
  type: EventType;
  schemaVersion: number;
  /** The aggregate's stream version this event takes: 1 for the first event, then +1 per event. */
  aggregateVersion: number;
  payload: object;
  occurredAt: Date;
}

const PENDING = Symbol('pendingEvents');

/**
 * Base of every aggregate. Behaviour methods check the rules and `record` what happened; the
 * unit of work writes the recorded events to `event_log` in the same transaction as the rows.
 *
 * Each aggregate keeps a stream version of its own: a persisted column that `record` advances by
 * one per event, so a command may record several events and they take consecutive versions. The
 * column is also the aggregate's optimistic lock (a concurrency check on update): a writer that
 * loaded an older version fails, and `event_log`'s unique (aggregate, version) stays the last
 * guard against a forked stream (docs/adr/0014-stream-versions.md).
 */
export abstract class AggregateRoot {
  abstract readonly id: string;
  /** Persisted by each entity as `stream_version`, with `concurrencyCheck: true`. */
  abstract streamVersion: number;

  // Lazily created: MikroORM hydrates loaded entities without running field initialisers.
  private [PENDING]?: RecordedEvent[];

  /** Only known event types, each with its own payload shape, at its current schema version. */
  protected record<T extends EventType>(type: T, payload: EventPayload<T>): void {
    const schemaVersion = eventSchemas[type].version;
    this.streamVersion = (this.streamVersion ?? 0) + 1;
    (this[PENDING] ??= []).push({
      type,
      schemaVersion,
      aggregateVersion: this.streamVersion,
      payload,
      occurredAt: new Date(),
    });
  }

  /** Returns and forgets the events recorded since the last call. */
  pullEvents(): RecordedEvent[] {
    const pending = this[PENDING] ?? [];
    this[PENDING] = [];
    return pending;
  }

  /** The aggregate type written to event_log, e.g. "Product". */
  get aggregateType(): string {
    return this.constructor.name;
  }
}
