/**
 * The integration-event envelope: exactly what is stored in `event_log` and published as the
 * AMQP message body. Any AMQP client can read it; nothing in it is Nest-specific.
 */
export interface EventMetadata {
  /** Who caused it: a user id, or "system". */
  actor: string;
  /** Ties together everything one client request caused. */
  correlationId: string;
  /** The command (or event) that directly caused this event. */
  causationId: string;
  /** W3C trace context of the request that caused it, if it was traced. */
  traceparent?: string;
  tracestate?: string;
}

export interface EventEnvelope<TType extends string = string, TPayload = unknown> {
  /** UUID, also the AMQP messageId: consumers deduplicate on it. */
  id: string;
  type: TType;
  schemaVersion: number;
  aggregateType: string;
  aggregateId: string;
  /** 1 for the event that created the aggregate, then +1 per event. */
  aggregateVersion: number;
  /** Global position in `event_log` (unique, increasing by insertion, not commit order). */
  position: string;
  occurredAt: string;
  payload: TPayload;
  metadata: EventMetadata;
}

/** A UUID in its canonical text form (any case): event ids, aggregate ids, keyset cursors. */
export const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Structural check of a message body; returns the reason it is unreadable, or undefined. */
export function envelopeProblem(value: unknown): string | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return 'body is not a JSON object';
  const v = value as Record<string, unknown>;
  if (typeof v.id !== 'string' || !UUID.test(v.id)) return 'id must be a UUID';
  if (typeof v.type !== 'string' || v.type.length === 0) return 'type must be a non-empty string';
  if (!Number.isInteger(v.schemaVersion)) return 'schemaVersion must be an integer';
  if (typeof v.aggregateType !== 'string') return 'aggregateType must be a string';
  if (typeof v.aggregateId !== 'string' || !UUID.test(v.aggregateId)) return 'aggregateId must be a UUID';
  if (!Number.isInteger(v.aggregateVersion) || (v.aggregateVersion as number) < 1) {
    return 'aggregateVersion must be a positive integer';
  }
  if (typeof v.position !== 'string' || !/^\d+$/.test(v.position)) return 'position must be a decimal string';
  if (typeof v.occurredAt !== 'string' || Number.isNaN(Date.parse(v.occurredAt))) return 'occurredAt must be a date';
  if (typeof v.payload !== 'object' || v.payload === null) return 'payload must be an object';
  if (typeof v.metadata !== 'object' || v.metadata === null) return 'metadata must be an object';
  return undefined;
}

/**
 * A message that can never be applied, however often it is retried (unreadable, not in the event
 * log, a payload that does not fit its schema): consumers dead-letter it at once, with this
 * error's message as the reason.
 */
export class PoisonMessageError extends Error {
  override readonly name: string = 'PoisonMessageError';
}
