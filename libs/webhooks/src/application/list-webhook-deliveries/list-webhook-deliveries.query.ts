import { Query } from '@nestjs/cqrs';
import type { WebhookDeliveryView } from '../../webhook-view.js';

/** The newest deliveries of one endpoint, newest first. */
export class ListWebhookDeliveries extends Query<WebhookDeliveryView[]> {
  constructor(
    readonly id: string,
    readonly limit: number,
  ) {
    super();
  }
}
