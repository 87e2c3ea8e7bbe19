import { eventSchemas } from '@emporium/contracts';

/** Every event type an endpoint may subscribe to. */
export const webhookEventTypes: readonly string[] = Object.keys(eventSchemas);

/**
 * The delivery core's subscription that turns events into webhook deliveries: bound to every
 * event type, since endpoints (and what they subscribe to) come and go at run time while a
 * queue's bindings are fixed when it is declared.
 */
export const webhookSubscription = { name: 'webhooks', eventTypes: webhookEventTypes } as const;
