import { Injectable } from '@nestjs/common';
import { MikroORM } from '@mikro-orm/postgresql';
import { trace } from '@opentelemetry/api';
import { sql } from 'kysely';
import { PoisonMessageError, type EventEnvelope } from '@emporium/contracts';
import { withStatementsAsEvents } from '@emporium/database';
import { GroupCommit, MAX_APPLY_BATCH } from '@emporium/projections';
import { WebhookDeliverer } from './webhook-deliverer.js';
import { webhookSubscription } from './webhook-events.js';

interface FanOut {
  stored: boolean;
  recorded: boolean;
  fanned: number;
}

/**
 * The `webhooks` subscriber of the delivery core: turns events into a delivery row per enabled
 * endpoint that subscribes to their type, in one statement that also records them in the
 * subscription's inbox (so its lag is reported like a projection's). Deliveries that arrive
 * together share that statement (GroupCommit, as projections do): one transaction and one WAL
 * flush for a batch, not one per event. Redelivery changes nothing (`on conflict do nothing`).
 * The stored copy of each event is used, never the message's: a message whose event is not in
 * `event_log` is poison.
 */
@Injectable()
export class WebhookFanOut {
  private readonly batches = new GroupCommit<EventEnvelope, FanOut>(
    MAX_APPLY_BATCH,
    async (events) => {
      const results = await this.fanOut(events);
      // A redelivery in the same batch is a duplicate of the first copy.
      const seen = new Set<string>();
      return events.map((event) => {
        const result = results.get(event.id) ?? UNSTORED;
        const first = !seen.has(event.id);
        seen.add(event.id);
        return { status: 'fulfilled', value: first ? result : { ...result, recorded: false, fanned: 0 } };
      });
    },
    async (event) => (await this.fanOut([event])).get(event.id) ?? UNSTORED,
  );

  constructor(
    private readonly orm: MikroORM,
    private readonly deliverer: WebhookDeliverer,
  ) {}

  async handle(event: EventEnvelope): Promise<'applied' | 'duplicate'> {
    // The delivery's consumer span covers the statement (as a projection's does), not a pg span.
    trace.getActiveSpan()?.addEvent('fan out to endpoints');
    const { stored, recorded, fanned } = await this.batches.submit(event);
    if (!stored) throw new PoisonMessageError(`event ${event.id} is not in event_log`);
    if (fanned > 0) this.deliverer.wake();
    return recorded ? 'applied' : 'duplicate';
  }

  private async fanOut(events: readonly EventEnvelope[]): Promise<Map<string, FanOut>> {
    const ids = events.map((e) => e.id);
    const { rows } = await withStatementsAsEvents(() =>
      sql<{ id: string; recorded: boolean; fanned: number }>`
        with stored as (select id, position, type from event_log where id = any(${ids}::uuid[])),
        inbox as (
          insert into projection_inbox (projection, event_id, position)
          select ${webhookSubscription.name}, id, position from stored order by position
          on conflict do nothing returning event_id),
        fanned as (
          insert into webhook_deliveries (endpoint_id, event_id, position, type)
          select ep.id, s.id, s.position, s.type from stored s
            join webhook_endpoints ep
              on ep.status = 'enabled' and s.type = any(ep.event_types) and ep.start_position < s.position
          order by ep.id, s.position
          on conflict do nothing returning event_id)
        select s.id, exists (select 1 from inbox i where i.event_id = s.id) as recorded,
               (select count(*) from fanned f where f.event_id = s.id)::int as fanned
          from stored s`.execute(this.orm.em.fork().getKysely()),
    );
    return new Map(rows.map((r) => [r.id, { stored: true, recorded: r.recorded, fanned: r.fanned }]));
  }
}

const UNSTORED: FanOut = { stored: false, recorded: false, fanned: 0 };
