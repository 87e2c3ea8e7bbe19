import { DomainError } from '@emporium/domain';

export class InvalidWebhookUrl extends DomainError {
  readonly kind = 'invalid';
  readonly code = 'invalid-webhook-url';
}

export class UnknownEventTypes extends DomainError {
  readonly kind = 'invalid';
  readonly code = 'unknown-event-types';
  override readonly details: Record<string, unknown>;
  constructor(unknown: string[], known: readonly string[]) {
    super(`unknown event types: ${unknown.join(', ')} (known: ${known.join(', ')})`);
    this.details = { unknownEventTypes: unknown, knownEventTypes: [...known] };
  }
}

/** The URL reaches an address webhooks may not call (loopback, private, link-local, metadata). */
export class WebhookAddressRefused extends DomainError {
  readonly kind = 'unprocessable';
  readonly code = 'webhook-address-refused';
}

export class WebhookNotFound extends DomainError {
  readonly kind = 'not-found';
  readonly code = 'webhook-not-found';
  constructor(id: string) {
    super(`webhook ${id} does not exist`);
  }
}
