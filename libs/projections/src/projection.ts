import type { Kysely } from 'kysely';
import type { DomainEvent, EventType } from '@emporium/contracts';
import type { ReadDb } from '@emporium/database';

/**
 * The runner's view of a transaction: it also writes its bookkeeping tables (inbox, streams),
 * which are not read models. A projection sees the same transaction typed as `ReadDb`.
 */
export type Db = Kysely<any>; // eslint-disable-line @typescript-eslint/no-explicit-any

/**
 * A read-model builder, registered once in `@emporium/composition`: the projector consumes its
 * events, the CLI rebuilds it, health reports its lag, all from that one entry.
 *
 * `apply` receives events that are new to this projection, each exactly once, parsed against its
 * schema, grouped by aggregate (ascending id) and in version order within an aggregate. It runs
 * inside the transaction that also records them in the inbox and advances the aggregate streams,
 * and should change the read model with a fixed number of set-based statements however many
 * events it is given. Rows shared by several aggregates must be written in a deterministic order
 * (sorted by key), so that two projector replicas never take their locks in opposite orders; and
 * a read-model table belongs to one projection only (a batch writes projections one after the
 * other, so two projections sharing a table could lock its rows in opposite orders).
 */
export interface Projection<T extends EventType = EventType> {
  readonly name: string;
  readonly eventTypes: readonly T[];
  /** The read-model tables it owns (a rebuild recreates exactly these). */
  readonly tables: readonly string[];
  apply(events: ReadonlyArray<DomainEvent<T>>, db: ReadDb): Promise<void>;
}

/** What a projection subscribes to: its queue's bindings, its lag and health figures. */
export interface ProjectionSubscription {
  readonly name: string;
  readonly eventTypes: readonly string[];
}

/** Events of `events` grouped by aggregate, each group in the given (version) order. */
export function byAggregate<E extends { aggregateId: string }>(events: readonly E[]): Map<string, E[]> {
  const groups = new Map<string, E[]>();
  for (const event of events) {
    const group = groups.get(event.aggregateId);
    if (group) group.push(event);
    else groups.set(event.aggregateId, [event]);
  }
  return groups;
}
