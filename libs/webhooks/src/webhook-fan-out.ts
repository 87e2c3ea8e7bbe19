import { Injectable } from '@nestjs/common';
import { MikroORM } from '@mikro-orm/postgresql';
import { context, trace } from '@opentelemetry/api';
import { suppressTracing } from '@opentelemetry/core';
import { sql } from 'kysely';
import { PoisonMessageError, type EventEnvelope } from '@emporium/contracts';
import { WebhookDeliverer } from './webhook-deliverer.js';
import { webhookSubscription } from './webhook-events.js';

/**
 * The `webhooks` subscriber of the delivery core: turns one event into a delivery row per
 * enabled endpoint that subscribes to its type, in one statement that also records the event in
 * the subscription's inbox (so its lag is reported like a projection's). Redelivery changes
 * nothing (`on conflict do nothing`). The stored copy of the event is used, never the message's:
 * a message whose event is not in `event_log` is poison.
 */
@Injectable()
export class WebhookFanOut {
  constructor(
    private readonly orm: MikroORM,
    private readonly deliverer: WebhookDeliverer,
  ) {}

  async handle(event: EventEnvelope): Promise<'applied' | 'duplicate'> {
    // The delivery's consumer span covers the statement (as a projection's does), not a pg span.
    trace.getActiveSpan()?.addEvent('fan out to endpoints');
    const { rows } = await context.with(suppressTracing(context.active()), () => this.fanOut(event));
    const { stored, recorded, fanned } = rows[0];
    if (stored === 0) throw new PoisonMessageError(`event ${event.id} is not in event_log`);
    if (fanned > 0) this.deliverer.wake();
    return recorded > 0 ? 'applied' : 'duplicate';
  }

  private fanOut(event: EventEnvelope) {
    return sql<{ stored: number; recorded: number; fanned: number }>`
      with stored as (select id, position, type from event_log where id = ${event.id}),
      inbox as (
        insert into projection_inbox (projection, event_id, position)
        select ${webhookSubscription.name}, id, position from stored
        on conflict do nothing returning 1),
      fanned as (
        insert into webhook_deliveries (endpoint_id, event_id, position, type)
        select ep.id, s.id, s.position, s.type from stored s
          join webhook_endpoints ep
            on ep.status = 'enabled' and s.type = any(ep.event_types) and ep.start_position < s.position
        on conflict do nothing returning 1)
      select (select count(*) from stored)::int as stored, (select count(*) from inbox)::int as recorded,
             (select count(*) from fanned)::int as fanned`.execute(this.orm.em.fork().getKysely());
  }
}
