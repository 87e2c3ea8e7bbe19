import { Command } from '@nestjs/cqrs';
import type { WebhookView } from '../../webhook-view.js';

export type RegisteredWebhook = Pick<WebhookView, 'id' | 'url' | 'eventTypes'> & {
  /** The signing secret, shown this once. */
  secret: string;
};

export class RegisterWebhook extends Command<RegisteredWebhook> {
  constructor(
    readonly url: string,
    readonly eventTypes: readonly string[],
  ) {
    super();
  }
}
