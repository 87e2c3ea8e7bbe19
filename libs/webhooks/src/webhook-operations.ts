import pg from 'pg';

export interface WebhookEndpointStatus {
  id: string;
  url: string;
  status: string;
  pending: number;
  dead: number;
  delivered: number;
  failingSince: string | null;
}

export interface DeadWebhookDelivery {
  eventId: string;
  type: string;
  position: string;
  attempts: number;
  lastStatus: number | null;
  lastError: string | null;
  lastAttemptAt: string;
}

/**
 * The operator's actions on webhook deliveries (the operations CLI): list endpoints, list dead
 * deliveries, replay them (attempts reset, sent again in position order) and enable a disabled
 * endpoint again. Works the same in both modes: the state is in the database.
 */
export class WebhookOperations {
  constructor(private readonly db: pg.ClientBase) {}

  async endpoints(): Promise<WebhookEndpointStatus[]> {
    const { rows } = await this.db.query<WebhookEndpointStatus>(
      `select ep.id, ep.url, ep.status,
              count(*) filter (where d.status = 'pending')::int as pending,
              count(*) filter (where d.status = 'dead')::int as dead,
              count(*) filter (where d.status = 'delivered')::int as delivered,
              to_char(ep.failing_since at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') as "failingSince"
         from webhook_endpoints ep left join webhook_deliveries d on d.endpoint_id = ep.id
        group by ep.id order by ep.created_at, ep.id`,
    );
    return rows;
  }

  async dead(endpointId: string): Promise<DeadWebhookDelivery[]> {
    await this.endpoint(endpointId);
    const { rows } = await this.db.query<DeadWebhookDelivery>(
      `select event_id as "eventId", type, position::text as position, attempts, last_status as "lastStatus",
              last_error as "lastError", last_attempt_at as "lastAttemptAt"
         from webhook_deliveries where endpoint_id = $1 and status = 'dead' order by position`,
      [endpointId],
    );
    return rows.map((r) => ({ ...r, lastAttemptAt: new Date(r.lastAttemptAt).toISOString() }));
  }

  /** Makes dead deliveries pending again, due now, attempts reset; `eventId` undefined: all of them. */
  async replay(endpointId: string, eventId: string | undefined): Promise<DeadWebhookDelivery[]> {
    await this.endpoint(endpointId);
    const { rows } = await this.db.query<DeadWebhookDelivery>(
      `update webhook_deliveries set status = 'pending', attempts = 0, next_attempt_at = now()
        where endpoint_id = $1 and status = 'dead' and ($2::uuid is null or event_id = $2::uuid)
        returning event_id as "eventId", type, position::text as position, attempts,
                  last_status as "lastStatus", last_error as "lastError", last_attempt_at as "lastAttemptAt"`,
      [endpointId, eventId ?? null],
    );
    if (eventId !== undefined && rows.length === 0) {
      throw new Error(`no dead delivery of event ${eventId} to webhook ${endpointId}`);
    }
    return rows;
  }

  /**
   * Enables a disabled endpoint: it gets events from now on (those while it was disabled were not
   * kept for it); its dead deliveries can be replayed.
   */
  async enable(endpointId: string): Promise<void> {
    const { rowCount } = await this.db.query(
      `update webhook_endpoints
          set status = 'enabled', failing_since = null, disabled_at = null, disabled_reason = null,
              settled_position = greatest(settled_position, (select coalesce(max(position), 0) from event_log))
        where id = $1 and status = 'disabled'`,
      [endpointId],
    );
    if (!rowCount) {
      const { status } = await this.endpoint(endpointId);
      throw new Error(`webhook ${endpointId} is ${status}, not disabled`);
    }
  }

  async endpoint(endpointId: string): Promise<{ status: string }> {
    if (!/^[0-9a-f-]{36}$/i.test(endpointId)) throw new Error(`no webhook ${endpointId}`);
    const { rows } = await this.db.query<{ status: string }>('select status from webhook_endpoints where id = $1', [
      endpointId,
    ]);
    if (rows.length === 0) throw new Error(`no webhook ${endpointId}`);
    return rows[0];
  }
}
