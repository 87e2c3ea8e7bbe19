import type { EventEnvelope } from '@emporium/contracts';

/** An `event_log` row as the relay, the projection runner and the tools read it. */
export interface EventRow {
  position: string;
  id: string;
  type: string;
  schema_version: number;
  aggregate_type: string;
  aggregate_id: string;
  aggregate_version: number;
  occurred_at: Date | string;
  payload: object;
  metadata: EventEnvelope['metadata'];
}

export const EVENT_ROW_COLUMNS =
  'position, id, type, schema_version, aggregate_type, aggregate_id, aggregate_version, occurred_at, payload, metadata';

export function toEnvelope(row: EventRow): EventEnvelope {
  return {
    id: row.id,
    type: row.type,
    schemaVersion: row.schema_version,
    aggregateType: row.aggregate_type,
    aggregateId: row.aggregate_id,
    aggregateVersion: row.aggregate_version,
    position: String(row.position),
    occurredAt: new Date(row.occurred_at).toISOString(),
    payload: row.payload,
    metadata: row.metadata,
  };
}
