import { hostname } from 'node:os';
import { randomUUID } from 'node:crypto';
import { Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { MikroORM } from '@mikro-orm/postgresql';
import { context, ROOT_CONTEXT } from '@opentelemetry/api';
import { suppressTracing } from '@opentelemetry/core';
import { sql } from 'kysely';
import { AppConfig } from '@emporium/config';
import { Pump } from '@emporium/messaging';
import { scrapedGauge } from '@emporium/telemetry';
import { postWebhook, type SendResult } from './sender.js';
import { sign } from './signature.js';
import { webhookAttempts } from './webhook-metrics.js';

/** Endpoints one process sends to at the same time (each one event at a time, in order). */
const MAX_CONCURRENT_ENDPOINTS = 16;
const SWEEP_INTERVAL_MS = 1000;
/** How long a later event waits for the fan-out of an earlier one before it is sent anyway. */
const FAN_OUT_WAIT = '1 minute';
/** How long an endpoint waiting for an earlier event's fan-out rests before it is looked at again. */
const FAN_OUT_RECHECK_MS = 100;

interface ClaimedEndpoint {
  id: string;
  url: string;
  secret: string;
}

interface DueDelivery {
  event_id: string;
  attempts: number;
  due: boolean;
  waits_for_earlier: boolean;
  type: string;
  occurred_at: Date;
  payload: unknown;
}

export interface WebhookHealth {
  up: boolean;
  data: Record<string, unknown>;
}

/**
 * Sends the pending rows of `webhook_deliveries`; the rows are the whole state, so a restart (or
 * a kill -9) loses nothing and, at worst, sends an event again with the same `webhook-id`.
 *
 * - An endpoint is sent to by one deliverer at a time, across replicas: a lease on its row,
 *   claimed with `for update skip locked` and renewed after every attempt. A deliverer that dies
 *   leaves its lease to expire (the request timeout plus a margin), and another takes over.
 * - Per endpoint, always the oldest pending delivery (by position) and nothing after it until it
 *   is delivered or dead: retries back off without letting later events overtake. A delivery
 *   also waits (a minute at most) while an earlier event of its types has not been fanned out.
 * - Endpoints are independent: each has its own worker, so a slow or failing one holds up only itself.
 * - Timers only wake it up early (the next due retry, a fan-out in this process); the sweep
 *   finds anything they miss, including work left by other replicas.
 */
@Injectable()
export class WebhookDeliverer implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(WebhookDeliverer.name);
  private readonly owner = `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
  private readonly workers = new Map<string, Promise<void>>();
  /** Endpoints this process leaves alone until then (waiting for an earlier event's fan-out). */
  private readonly resting = new Map<string, number>();
  // Polling and sending are not traced: a span per sweep statement would bury the traces that matter.
  private readonly pump = new Pump(
    () => context.with(suppressTracing(ROOT_CONTEXT), () => this.claim()),
    (error) => this.logger.warn(`webhook deliverer: ${(error as Error).message}`),
  );
  private sweepTimer: NodeJS.Timeout | undefined;
  private dueTimer: NodeJS.Timeout | undefined;
  private stopping = false;

  constructor(
    private readonly orm: MikroORM,
    private readonly config: AppConfig,
  ) {
    scrapedGauge(
      'emporium_webhook_deliveries_pending',
      'Webhook deliveries not yet delivered or dead',
      [],
      async (set) => {
        const { rows } = await sql<{ n: string }>`select count(*) as n from webhook_deliveries
        where status = 'pending'`.execute(this.db());
        set({}, Number(rows[0].n));
      },
    );
    scrapedGauge(
      'emporium_webhook_endpoints_disabled',
      'Webhook endpoints disabled after failing without a success for WEBHOOK_DISABLE_AFTER',
      [],
      async (set) => {
        const { rows } = await sql<{ n: string }>`select count(*) as n from webhook_endpoints
          where status = 'disabled'`.execute(this.db());
        set({}, Number(rows[0].n));
      },
    );
  }

  private get leaseMs(): number {
    return this.config.webhooks.timeoutMs + 5000;
  }

  onApplicationBootstrap(): void {
    this.stopping = false;
    this.pump.resume();
    this.sweepTimer = setInterval(() => this.pump.tick(), SWEEP_INTERVAL_MS);
    this.sweepTimer.unref();
    this.pump.tick();
  }

  /** New deliveries were written (by the fan-out in this process). */
  wake(): void {
    this.pump.tick();
  }

  async onApplicationShutdown(): Promise<void> {
    this.stopping = true;
    clearInterval(this.sweepTimer);
    clearTimeout(this.dueTimer);
    await this.pump.stop();
    // Attempts in flight finish (each within the timeout); their endpoints' leases are released.
    await Promise.allSettled([...this.workers.values()]);
  }

  /** What health reports: endpoints by status, disabled ones by id, and the pending backlog. */
  async health(): Promise<WebhookHealth> {
    const { rows } = await sql<{ enabled: string; pending: string; disabled: Array<Record<string, unknown>> | null }>`
      select (select count(*) from webhook_endpoints where status = 'enabled') as enabled,
             (select count(*) from webhook_deliveries where status = 'pending') as pending,
             (select json_agg(json_build_object('id', id, 'url', url, 'disabledAt', disabled_at, 'reason', disabled_reason)
                              order by disabled_at)
                from webhook_endpoints where status = 'disabled') as disabled`.execute(this.db());
    const disabled = rows[0].disabled ?? [];
    // A customer's endpoint being down is not this process being unhealthy: reported, not failed.
    return {
      up: true,
      data: {
        enabledEndpoints: Number(rows[0].enabled),
        pendingDeliveries: Number(rows[0].pending),
        disabledEndpoints: disabled,
      },
    };
  }

  private db(): ReturnType<MikroORM['em']['getKysely']> {
    return this.orm.em.fork().getKysely();
  }

  /** Claims endpoints whose oldest pending delivery is due and starts a worker for each. */
  private async claim(): Promise<boolean> {
    const capacity = MAX_CONCURRENT_ENDPOINTS - this.workers.size;
    if (this.stopping || capacity <= 0) return false;
    const now = Date.now();
    for (const [id, until] of this.resting) if (until <= now) this.resting.delete(id);
    const busy = [...this.workers.keys(), ...this.resting.keys()];
    const { rows } = await sql<ClaimedEndpoint>`
      with candidates as (
        select ep.id from webhook_endpoints ep
         where ep.status = 'enabled'
           and (ep.lease_until is null or ep.lease_until < now())
           and not (ep.id = any(${busy}::uuid[]))
           and (select d.next_attempt_at from webhook_deliveries d
                 where d.endpoint_id = ep.id and d.status = 'pending' order by d.position limit 1) <= now()
         order by ep.id limit ${capacity}
         for update skip locked)
      update webhook_endpoints ep
         set lease_owner = ${this.owner}, lease_until = now() + ${this.leaseMs} * interval '1 millisecond'
        from candidates c where ep.id = c.id
      returning ep.id, ep.url, ep.secret`.execute(this.db());
    for (const endpoint of rows) {
      const work = this.work(endpoint).finally(() => {
        this.workers.delete(endpoint.id);
        this.pump.tick();
      });
      this.workers.set(endpoint.id, work);
    }
    if (rows.length < capacity) await this.scheduleNextDue();
    return rows.length === capacity;
  }

  /** Wakes up when the next backed-off delivery (the oldest of its endpoint) is due. */
  private async scheduleNextDue(): Promise<void> {
    const { rows } = await sql<{ ms: number | null }>`
      select extract(epoch from min(n) - now()) * 1000 as ms from (
        select (select d.next_attempt_at from webhook_deliveries d
                 where d.endpoint_id = ep.id and d.status = 'pending' order by d.position limit 1) as n
          from webhook_endpoints ep where ep.status = 'enabled') x
       where n > now()`.execute(this.db());
    const ms = rows[0]?.ms;
    clearTimeout(this.dueTimer);
    if (ms === null || ms === undefined || Number(ms) >= SWEEP_INTERVAL_MS || this.stopping) return;
    this.dueTimer = setTimeout(() => this.pump.tick(), Math.max(5, Math.ceil(Number(ms))));
    this.dueTimer.unref();
  }

  /** Sends to one endpoint, oldest first, while its next delivery is due; then lets go of it. */
  private async work(endpoint: ClaimedEndpoint): Promise<void> {
    try {
      while (!this.stopping) {
        const delivery = await this.next(endpoint.id);
        if (!delivery || !delivery.due) break;
        if (delivery.waits_for_earlier) {
          this.resting.set(endpoint.id, Date.now() + FAN_OUT_RECHECK_MS);
          setTimeout(() => this.pump.tick(), FAN_OUT_RECHECK_MS).unref();
          break;
        }
        const result = await this.send(endpoint, delivery);
        const enabled = await this.record(endpoint.id, delivery, result);
        if (!enabled) break;
      }
    } catch (error) {
      this.logger.warn(`webhook ${endpoint.id}: ${(error as Error).message}`);
    } finally {
      await sql`update webhook_endpoints set lease_owner = null, lease_until = null
        where id = ${endpoint.id} and lease_owner = ${this.owner}`
        .execute(this.db())
        .catch(() => undefined); // it expires by itself
    }
  }

  private async next(endpointId: string): Promise<DueDelivery | undefined> {
    const { rows } = await sql<DueDelivery>`
      select d.event_id, d.attempts, d.next_attempt_at <= now() as due, e.type, e.occurred_at, e.payload,
             exists (select 1 from event_log g
                      where g.position > greatest(ep.start_position, ep.settled_position) and g.position < d.position
                        and g.type = any(ep.event_types)
                        and g.occurred_at > now() - ${FAN_OUT_WAIT}::interval
                        and not exists (select 1 from webhook_deliveries x
                                         where x.endpoint_id = ep.id and x.event_id = g.id)) as waits_for_earlier
        from webhook_deliveries d
        join webhook_endpoints ep on ep.id = d.endpoint_id
        join event_log e on e.id = d.event_id
       where d.endpoint_id = ${endpointId} and d.status = 'pending'
       order by d.position limit 1`.execute(this.db());
    return rows[0];
  }

  private send(endpoint: ClaimedEndpoint, delivery: DueDelivery): Promise<SendResult> {
    const body = JSON.stringify({
      id: delivery.event_id,
      type: delivery.type,
      occurredAt: new Date(delivery.occurred_at).toISOString(),
      data: delivery.payload,
    });
    const timestamp = Math.floor(Date.now() / 1000);
    return postWebhook(
      endpoint.url,
      body,
      {
        'webhook-id': delivery.event_id,
        'webhook-timestamp': String(timestamp),
        'webhook-signature': sign(endpoint.secret, delivery.event_id, timestamp, body),
      },
      { timeoutMs: this.config.webhooks.timeoutMs, allowPrivateNetworks: this.config.webhooks.allowPrivateNetworks },
    );
  }

  /** Writes the attempt's result and renews the lease; false once the endpoint is disabled. */
  private async record(endpointId: string, delivery: DueDelivery, result: SendResult): Promise<boolean> {
    const { retryScheduleMs, disableAfterMs } = this.config.webhooks;
    const lease = sql`now() + ${this.leaseMs} * interval '1 millisecond'`;
    if (result.delivered) {
      await sql`
        with d as (
          update webhook_deliveries
             set status = 'delivered', attempts = attempts + 1, last_status = ${result.status ?? null},
                 last_error = null, last_attempt_at = now(), delivered_at = now()
           where endpoint_id = ${endpointId} and event_id = ${delivery.event_id} and status = 'pending'
          returning position)
        update webhook_endpoints
           set failing_since = null, settled_position = greatest(settled_position, (select position from d)),
               lease_until = ${lease}
         where id = ${endpointId}`.execute(this.db());
      webhookAttempts.inc({ outcome: 'delivered' });
      return true;
    }
    const error = (result.error ?? 'failed').slice(0, 500);
    const { rows } = await sql<{ status: string; delivery: string | null }>`
      with d as (
        update webhook_deliveries
           set attempts = attempts + 1, last_status = ${result.status ?? null}, last_error = ${error},
               last_attempt_at = now(),
               status = case when attempts >= ${retryScheduleMs.length} then 'dead' else 'pending' end,
               next_attempt_at = now() + coalesce((${retryScheduleMs}::int[])[attempts + 1], 0) * interval '1 millisecond'
         where endpoint_id = ${endpointId} and event_id = ${delivery.event_id} and status = 'pending'
        returning status, position),
      failing as (select coalesce(failing_since, now()) as since from webhook_endpoints where id = ${endpointId}),
      disable as (select (select since from failing) <= now() - ${disableAfterMs} * interval '1 millisecond' as yes)
      update webhook_endpoints
         set failing_since = (select since from failing),
             settled_position = case when (select status from d) = 'dead'
                                     then greatest(settled_position, (select position from d)) else settled_position end,
             status = case when (select yes from disable) then 'disabled' else status end,
             disabled_at = case when (select yes from disable) then now() else disabled_at end,
             disabled_reason = case when (select yes from disable)
                                    then 'failing without a success since ' || (select since from failing)::text || ': ' || ${error}
                                    else disabled_reason end,
             lease_until = ${lease}
       where id = ${endpointId}
      returning status, (select status from d) as delivery`.execute(this.db());
    const outcome = rows[0]?.delivery === 'dead' ? 'dead' : 'failed';
    webhookAttempts.inc({ outcome });
    if (outcome === 'dead') {
      this.logger.warn(
        `webhook ${endpointId}: ${delivery.event_id} is dead after ${delivery.attempts + 1} attempt(s): ${error}`,
      );
    }
    if (rows[0]?.status === 'disabled') {
      this.logger.warn(`webhook ${endpointId} is disabled: failing for ${disableAfterMs} ms without a success`);
      return false;
    }
    return true;
  }
}
