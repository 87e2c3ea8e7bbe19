import { eventSchemas, type EventPayload, type EventType } from '@emporium/contracts';

export interface RecordedEvent {
  type: EventType;
  schemaVersion: number;
  payload: object;
  occurredAt: Date;
}

const PENDING = Symbol('pendingEvents');

/**
 * Base of every aggregate. Behaviour methods check the rules and `record` what happened; the
 * unit of work writes the recorded events to `event_log` in the same transaction as the rows.
 *
 * One command records at most one event per aggregate, so an event's aggregate version is the
 * row version after the flush and the stream has no holes a projection could wait on forever.
 */
export abstract class AggregateRoot {
  abstract readonly id: string;
  abstract version: number;

  // Lazily created: MikroORM hydrates loaded entities without running field initialisers.
  private [PENDING]?: RecordedEvent[];

  /** Only known event types, each with its own payload shape, at its current schema version. */
  protected record<T extends EventType>(type: T, payload: EventPayload<T>): void {
    const schemaVersion = eventSchemas[type].version;
    const pending = (this[PENDING] ??= []);
    if (pending.length > 0) {
      throw new Error(`${this.constructor.name} ${this.id} already recorded ${pending[0].type} in this command`);
    }
    pending.push({ type, schemaVersion, payload, occurredAt: new Date() });
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
