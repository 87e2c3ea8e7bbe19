import type { Attributes, Context } from '@opentelemetry/api';

/**
 * The port every transport implements, and all it implements: hand over messages, and settle
 * each one as the delivery core decides (ack, retry later, dead-letter). Retry and dead-letter
 * policy, classification, in-flight tracking and drain live once, in DeliveryCore. A transport
 * for Kafka or SQS implements this file and nothing else.
 */
export interface DeliveryTransport {
  /** Reported by health as this check name ("broker", "event-log-transport"). */
  readonly healthCheck: string;
  /** False while the transport cannot receive (broker down, event log unreadable). */
  readonly connected: boolean;
  /** Starts consuming each subscription; every message received goes to `receive`. */
  start(subscriptions: readonly Subscription[], receive: (delivery: Delivery) => void): Promise<void>;
  /** Stops taking new messages; deliveries already handed over can still be settled. */
  stopReceiving(): Promise<void>;
  /** Releases connections (after the core settled what was in flight). */
  close(): Promise<void>;
}

/** A consumer of events, by name (its queue), with the event types it is bound to. */
export interface Subscription {
  readonly name: string;
  readonly eventTypes: readonly string[];
}

/** One message for one subscription, as received; settled exactly once by the core. */
export interface Delivery {
  readonly subscription: string;
  readonly messageId: string;
  /** The body as received (bytes from a broker) or the envelope itself (an in-process transport). */
  readonly content: Buffer | object;
  /** Failed attempts before this one (transient failures are not counted). */
  readonly attempts: number;
  /** Transient failures before this one. */
  readonly transientRetries: number;
  /** The trace this message continues (the request that caused the event). */
  readonly traceContext: Context;
  /** Semantic-convention attributes of the transport (messaging.system, destination, …) for the consumer span. */
  readonly attributes: Attributes;
  /** Applied: forget it. */
  ack(): Promise<void>;
  /** Deliver it again after `delayMs`, carrying the new counts and the reason. */
  retryLater(retry: Retry): Promise<void>;
  /** Park it where an operator can list, replay or discard it. */
  deadLetter(failure: { reason: string; attempts: number }): Promise<void>;
}

export interface Retry {
  delayMs: number;
  attempts: number;
  transientRetries: number;
  reason: string;
}

/** A parked message, as operators see it, whatever the transport. */
export interface DeadLetter {
  messageId: string;
  type: string;
  routingKey: string;
  attempts: number;
  error: string;
  failedAt: string;
  body: string;
  headers: Record<string, unknown>;
}

/** The operator's side of the port: dead letters per subscription (health, metrics, the CLI). */
export interface DeadLetterStore {
  depth(subscription: string): Promise<number>;
  list(subscription: string): Promise<DeadLetter[]>;
  /** Delivers them again (attempts reset); `messageId` undefined: all of them. */
  replay(subscription: string, messageId?: string): Promise<DeadLetter[]>;
  /** Drops them for good; `messageId` undefined: all of them. */
  discard(subscription: string, messageId?: string): Promise<DeadLetter[]>;
  close(): Promise<void>;
}

/** Settling failed because the message's channel or connection is gone; the transport will redeliver it. */
export class SettlementLost extends Error {
  override readonly name = 'SettlementLost';
}

export class NoSuchDeadLetter extends Error {
  override readonly name = 'NoSuchDeadLetter';
  constructor(messageId: string) {
    super(`no dead letter with messageId ${messageId}`);
  }
}
