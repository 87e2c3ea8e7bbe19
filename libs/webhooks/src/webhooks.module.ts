import { Global, Module } from '@nestjs/common';
import { RegisterWebhookHandler } from './application/register-webhook/register-webhook.handler.js';
import { DeleteWebhookHandler } from './application/delete-webhook/delete-webhook.handler.js';
import { ListWebhooksHandler } from './application/list-webhooks/list-webhooks.handler.js';
import { ListWebhookDeliveriesHandler } from './application/list-webhook-deliveries/list-webhook-deliveries.handler.js';
import { WebhookDeliverer } from './webhook-deliverer.js';
import { WebhookFanOut } from './webhook-fan-out.js';

const commandHandlers = [RegisterWebhookHandler, DeleteWebhookHandler];
const queryHandlers = [ListWebhooksHandler, ListWebhookDeliveriesHandler];

/** Registering and inspecting endpoints (the api). */
@Module({ providers: [...commandHandlers, ...queryHandlers] })
export class WebhooksModule {}

/** Fanning events out to endpoints and sending them (the projector; global for its health check). */
@Global()
@Module({ providers: [WebhookDeliverer, WebhookFanOut], exports: [WebhookDeliverer, WebhookFanOut] })
export class WebhookDeliveryModule {}
