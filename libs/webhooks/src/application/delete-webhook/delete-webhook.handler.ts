import { MikroORM } from '@mikro-orm/postgresql';
import { CommandHandler, type ICommandHandler } from '@nestjs/cqrs';
import { sql } from 'kysely';
import { Instrumented } from '@emporium/telemetry';
import { WebhookNotFound } from '../../webhook.errors.js';
import { DeleteWebhook } from './delete-webhook.command.js';

@CommandHandler(DeleteWebhook)
export class DeleteWebhookHandler implements ICommandHandler<DeleteWebhook> {
  constructor(private readonly orm: MikroORM) {}

  @Instrumented('command')
  async execute({ id }: DeleteWebhook): Promise<void> {
    const { numAffectedRows } = await sql`delete from webhook_endpoints where id = ${id}`.execute(
      this.orm.em.fork().getKysely(),
    );
    if (!numAffectedRows) throw new WebhookNotFound(id);
  }
}
