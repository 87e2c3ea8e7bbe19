import { MikroORM } from '@mikro-orm/postgresql';
import { QueryHandler, type IQueryHandler } from '@nestjs/cqrs';
import { sql } from 'kysely';
import { Instrumented } from '@emporium/telemetry';
import { toWebhookView, WEBHOOK_COLUMNS, type WebhookRow, type WebhookView } from '../../webhook-view.js';
import { ListWebhooks } from './list-webhooks.query.js';

@QueryHandler(ListWebhooks)
export class ListWebhooksHandler implements IQueryHandler<ListWebhooks> {
  constructor(private readonly orm: MikroORM) {}

  @Instrumented('query')
  async execute(): Promise<WebhookView[]> {
    const { rows } = await sql<WebhookRow>`select ${sql.raw(WEBHOOK_COLUMNS)} from webhook_endpoints
      order by created_at, id`.execute(this.orm.em.fork().getKysely());
    return rows.map(toWebhookView);
  }
}
