/**
 * Outgoing webhooks (Standard Webhooks): endpoints registered by admins, a delivery-core
 * subscription that fans events out to them, and a deliverer that signs and sends each event
 * to each endpoint in order, with retries, dead deliveries and an SSRF guard.
 */
export { RegisterWebhook, type RegisteredWebhook } from './application/register-webhook/register-webhook.command.js';
export { DeleteWebhook } from './application/delete-webhook/delete-webhook.command.js';
export { ListWebhooks } from './application/list-webhooks/list-webhooks.query.js';
export { ListWebhookDeliveries } from './application/list-webhook-deliveries/list-webhook-deliveries.query.js';
export * from './webhook.errors.js';
export type { WebhookDeliveryView, WebhookView } from './webhook-view.js';
export { webhookEventTypes, webhookSubscription } from './webhook-events.js';
export { classifyAddress, type RefusedAddress } from './address-guard.js';
export { newSecret, sign } from './signature.js';
export { postWebhook, type SendResult } from './sender.js';
export { RegisterWebhookHandler } from './application/register-webhook/register-webhook.handler.js';
export { WebhookDeliverer, type WebhookHealth } from './webhook-deliverer.js';
export { WebhookFanOut } from './webhook-fan-out.js';
export { WebhookOperations, type DeadWebhookDelivery, type WebhookEndpointStatus } from './webhook-operations.js';
export { WebhookDeliveryModule, WebhooksModule } from './webhooks.module.js';
