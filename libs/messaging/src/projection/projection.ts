import type { Kysely } from 'kysely';
import type { EventEnvelope } from '@emporium/contracts';

/** Kysely bound to the projection's transaction; projections write read models with plain SQL. */
export type Db = Kysely<any>; // eslint-disable-line @typescript-eslint/no-explicit-any

/**
 * A read-model builder. `apply` runs inside the transaction that also records the event in the
 * inbox and advances the aggregate's stream version, so it is applied exactly once and in order.
 */
export interface Projection {
  readonly name: string;
  readonly eventTypes: readonly string[];
  /** The read-model tables it owns (a rebuild recreates exactly these). */
  readonly tables: readonly string[];
  /**
   * False when `apply` writes rows that several aggregates share (totals per day and product,
   * say). A batch orders its locks by aggregate only, so two replicas' batches could take such
   * rows in opposite orders and deadlock; these projections apply one event per transaction, whose
   * own writes are ordered. Default true.
   */
  readonly groupCommit?: boolean;
  apply(event: EventEnvelope, db: Db): Promise<void>;
}

/** Thrown for a message that can never be applied: it goes to the dead-letter queue at once. */
export class PoisonMessageError extends Error {
  override readonly name = 'PoisonMessageError';
}

/** Narrow a payload field at the boundary: a malformed payload is poison, not a crash. */
export function field<T>(payload: unknown, name: string, check: (value: unknown) => boolean): T {
  const value = (payload as Record<string, unknown> | null)?.[name];
  if (!check(value)) throw new PoisonMessageError(`payload.${name} is missing or invalid`);
  return value as T;
}
export const isString = (v: unknown): boolean => typeof v === 'string';
export const isInt = (v: unknown): boolean => Number.isSafeInteger(v);
export const isArray = (v: unknown): boolean => Array.isArray(v);

/**
 * What a projection handler hands back to the transport. Handlers return it instead of throwing:
 * Nest's RPC exception layer would replace a thrown error with a generic one, and the transport
 * must know whether a failure is poison (dead-letter now), transient infrastructure (retry for as
 * long as it takes) or a failed apply (retry with backoff, then dead-letter).
 */
export type ProjectionSettlement =
  | { ok: true; outcome: 'applied' | 'duplicate' }
  | { ok: false; kind: 'poison' | 'transient' | 'failed'; reason: string };

export async function settle(
  work: Promise<'applied' | 'duplicate'>,
  isTransient: (error: unknown) => boolean,
): Promise<ProjectionSettlement> {
  try {
    return { ok: true, outcome: await work };
  } catch (error) {
    const reason = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
    const kind = error instanceof PoisonMessageError ? 'poison' : isTransient(error) ? 'transient' : 'failed';
    return { ok: false, kind, reason };
  }
}
