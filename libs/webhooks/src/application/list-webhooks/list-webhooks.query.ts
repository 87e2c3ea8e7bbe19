import { Query } from '@nestjs/cqrs';
import type { WebhookView } from '../../webhook-view.js';

export class ListWebhooks extends Query<WebhookView[]> {}
