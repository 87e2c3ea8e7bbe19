import client from 'prom-client';
import { registry } from '@emporium/telemetry';

export const webhookAttempts = new client.Counter({
  name: 'emporium_webhook_deliveries_total',
  help: 'Webhook delivery attempts by outcome: delivered (2xx), failed (retried later), dead (retries exhausted)',
  labelNames: ['outcome'] as const,
  registers: [registry],
});
