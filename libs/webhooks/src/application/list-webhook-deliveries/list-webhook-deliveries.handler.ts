import { MikroORM } from '@mikro-orm/postgresql';
import { QueryHandler, type IQueryHandler } from '@nestjs/cqrs';
import { sql } from 'kysely';
import { Instrumented } from '@emporium/telemetry';
import { WebhookNotFound } from '../../webhook.errors.js';
import { toDeliveryView, type WebhookDeliveryRow, type WebhookDeliveryView } from '../../webhook-view.js';
import { ListWebhookDeliveries } from './list-webhook-deliveries.query.js';

@QueryHandler(ListWebhookDeliveries)
export class ListWebhookDeliveriesHandler implements IQueryHandler<ListWebhookDeliveries> {
  constructor(private readonly orm: MikroORM) {}

  @Instrumented('query')
  async execute({ id, limit }: ListWebhookDeliveries): Promise<WebhookDeliveryView[]> {
    const db = this.orm.em.fork().getKysely();
    const { rows: found } = await sql`select 1 from webhook_endpoints where id = ${id}`.execute(db);
    if (found.length === 0) throw new WebhookNotFound(id);
    const { rows } = await sql<WebhookDeliveryRow>`select event_id, type, position::text as position, status,
        attempts, last_status, last_error, last_attempt_at, next_attempt_at, delivered_at
      from webhook_deliveries where endpoint_id = ${id} order by position desc limit ${limit}`.execute(db);
    return rows.map(toDeliveryView);
  }
}
