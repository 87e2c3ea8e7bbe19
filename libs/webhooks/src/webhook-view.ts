/** A registered endpoint as operators see it (never its secret). */
export interface WebhookView {
  id: string;
  url: string;
  eventTypes: string[];
  status: 'enabled' | 'disabled';
  createdAt: string;
  /** Since when every attempt failed (null while the last one succeeded). */
  failingSince: string | null;
  disabledAt: string | null;
  disabledReason: string | null;
}

export interface WebhookRow {
  id: string;
  url: string;
  event_types: string[];
  status: 'enabled' | 'disabled';
  created_at: Date;
  failing_since: Date | null;
  disabled_at: Date | null;
  disabled_reason: string | null;
}

export const WEBHOOK_COLUMNS = 'id, url, event_types, status, created_at, failing_since, disabled_at, disabled_reason';

const iso = (value: Date | null): string | null => (value ? new Date(value).toISOString() : null);

export function toWebhookView(row: WebhookRow): WebhookView {
  return {
    id: row.id,
    url: row.url,
    eventTypes: row.event_types,
    status: row.status,
    createdAt: new Date(row.created_at).toISOString(),
    failingSince: iso(row.failing_since),
    disabledAt: iso(row.disabled_at),
    disabledReason: row.disabled_reason,
  };
}

/** One event on its way to one endpoint: its attempts so far and what happens next. */
export interface WebhookDeliveryView {
  eventId: string;
  type: string;
  position: string;
  status: 'pending' | 'delivered' | 'dead';
  attempts: number;
  lastStatus: number | null;
  lastError: string | null;
  lastAttemptAt: string | null;
  /** When it is tried next (pending only). */
  nextAttemptAt: string | null;
  deliveredAt: string | null;
}

export interface WebhookDeliveryRow {
  event_id: string;
  type: string;
  position: string;
  status: 'pending' | 'delivered' | 'dead';
  attempts: number;
  last_status: number | null;
  last_error: string | null;
  last_attempt_at: Date | null;
  next_attempt_at: Date;
  delivered_at: Date | null;
}

export function toDeliveryView(row: WebhookDeliveryRow): WebhookDeliveryView {
  return {
    eventId: row.event_id,
    type: row.type,
    position: String(row.position),
    status: row.status,
    attempts: row.attempts,
    lastStatus: row.last_status,
    lastError: row.last_error,
    lastAttemptAt: iso(row.last_attempt_at),
    nextAttemptAt: row.status === 'pending' ? iso(row.next_attempt_at) : null,
    deliveredAt: iso(row.delivered_at),
  };
}
