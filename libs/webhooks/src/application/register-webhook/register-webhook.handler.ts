import { randomUUID } from 'node:crypto';
import { MikroORM } from '@mikro-orm/postgresql';
import { CommandHandler, type ICommandHandler } from '@nestjs/cqrs';
import { sql } from 'kysely';
import { AppConfig } from '@emporium/config';
import { Instrumented } from '@emporium/telemetry';
import { AddressRefused, hostOf, HostUnresolvable, resolveChecked } from '../../address-guard.js';
import { newSecret } from '../../signature.js';
import { webhookEventTypes } from '../../webhook-events.js';
import { InvalidWebhookUrl, UnknownEventTypes, WebhookAddressRefused } from '../../webhook.errors.js';
import { RegisterWebhook, type RegisteredWebhook } from './register-webhook.command.js';

@CommandHandler(RegisterWebhook)
export class RegisterWebhookHandler implements ICommandHandler<RegisterWebhook> {
  constructor(
    private readonly orm: MikroORM,
    private readonly config: AppConfig,
  ) {}

  @Instrumented('command')
  async execute({ url: text, eventTypes }: RegisterWebhook): Promise<RegisteredWebhook> {
    const unknown = eventTypes.filter((type) => !webhookEventTypes.includes(type));
    if (unknown.length > 0) throw new UnknownEventTypes(unknown, webhookEventTypes);
    const url = await this.checkedUrl(text);
    const id = randomUUID();
    const secret = newSecret();
    const types = [...new Set(eventTypes)];
    // Events from now on: those already in the log when it is registered are not sent.
    await sql`insert into webhook_endpoints (id, url, event_types, secret, start_position)
      values (${id}, ${url}, ${types}::text[], ${secret}, (select coalesce(max(position), 0) from event_log))`.execute(
      this.orm.em.fork().getKysely(),
    );
    return { id, url, eventTypes: types, secret };
  }

  private async checkedUrl(text: string): Promise<string> {
    let url: URL;
    try {
      url = new URL(text);
    } catch {
      throw new InvalidWebhookUrl('url is not an absolute URL');
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      throw new InvalidWebhookUrl(`url must be http or https, not ${url.protocol.replace(/:$/, '')}`);
    }
    if (url.username || url.password) throw new InvalidWebhookUrl('url must not carry credentials');
    if (url.hash) throw new InvalidWebhookUrl('url must not have a fragment');
    try {
      await resolveChecked(hostOf(url), this.config.webhooks.allowPrivateNetworks);
    } catch (error) {
      if (error instanceof AddressRefused || error instanceof HostUnresolvable) {
        throw new WebhookAddressRefused(`url is not allowed: ${error.message}`);
      }
      throw error;
    }
    return url.toString();
  }
}
