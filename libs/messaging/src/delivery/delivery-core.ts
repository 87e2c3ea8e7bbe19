import { Logger } from '@nestjs/common';
import { envelopeProblem, PoisonMessageError, type EventEnvelope } from '@emporium/contracts';
import { isTransientDatabaseError } from '@emporium/database';
import {
  deliveryOutcomes,
  deliverySettleFailures,
  projectionApplyDuration,
  SpanKind,
  withSpan,
} from '@emporium/telemetry';
import type { Delivery, DeliveryTransport, Subscription } from './port.js';

/** A subscription with the code that consumes its events. */
export interface Subscriber extends Subscription {
  /** Resolves once the event is durably handled; rejects with why it could not be. */
  handle(event: EventEnvelope): Promise<unknown>;
}

export interface DeliveryPolicy {
  /** Backoff before each retry of a failed delivery; after the last, it is dead-lettered. */
  retryDelaysMs: readonly number[];
}

export type FailureKind = 'poison' | 'transient' | 'failed';

/** The backoff of a transient failure when no retry delays are configured at all. */
const TRANSIENT_RETRY_MS = 1000;

/**
 * Why a delivery failed decides what happens to it:
 * - poison (unreadable, not in the event log, a payload that does not fit its schema): no retry
 *   can help, so it is dead-lettered at once;
 * - transient (the database is down, restarting, overloaded, or this transaction lost a race): not
 *   the message's fault, so it is retried at the longest backoff for as long as that lasts, and
 *   never dead-lettered because of it;
 * - anything else failed: retried with backoff, then dead-lettered with the reason.
 */
export function classify(error: unknown): FailureKind {
  if (error instanceof PoisonMessageError) return 'poison';
  return isTransientDatabaseError(error) ? 'transient' : 'failed';
}

const reasonOf = (error: unknown): string =>
  error instanceof Error ? `${error.name}: ${error.message}` : String(error);

/** Test-only fault injection (CRASH_AT) at the core's failure windows. */
export type CoreCrashPoint = 'projector-after-commit' | 'projector-mid-batch';

/**
 * The delivery policy, once for every transport: decode and check the message, hand it to its
 * subscriber in a consumer span, classify a failure, and settle (ack, retry later with backoff,
 * dead-letter with the reason and attempts). It tracks what is in flight, and on stop lets it
 * finish and settle before the transport closes.
 *
 * Nothing in here can take the process down: a settlement that cannot reach the transport (its
 * channel closed under it) is logged and counted, and the transport delivers the message again.
 */
export class DeliveryCore {
  private readonly logger = new Logger(DeliveryCore.name);
  private readonly subscribers: Map<string, Subscriber>;
  private readonly inFlight = new Set<Promise<void>>();

  constructor(
    private readonly transport: DeliveryTransport,
    subscribers: readonly Subscriber[],
    private readonly policy: DeliveryPolicy,
    private readonly crashAt?: CoreCrashPoint,
  ) {
    this.subscribers = new Map(subscribers.map((s) => [s.name, s]));
  }

  async start(): Promise<void> {
    await this.transport.start([...this.subscribers.values()], (delivery) => this.track(delivery));
  }

  /** Stops receiving, lets what is in flight finish and settle, then closes the transport. */
  async stop(): Promise<void> {
    await this.transport.stopReceiving();
    while (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight]);
    await this.transport.close();
  }

  private track(delivery: Delivery): void {
    const work = this.process(delivery);
    this.inFlight.add(work);
    const done = (): void => void this.inFlight.delete(work);
    work.then(done, done);
  }

  /** Never rejects. */
  private async process(delivery: Delivery): Promise<void> {
    const subscriber = this.subscribers.get(delivery.subscription);
    let failure: { kind: FailureKind; reason: string } | undefined;
    if (!subscriber) {
      failure = { kind: 'failed', reason: `no subscriber ${delivery.subscription}` };
    } else {
      const decoded = decode(delivery.content);
      failure =
        'problem' in decoded
          ? { kind: 'poison', reason: decoded.problem }
          : await this.dispatch(subscriber, decoded.envelope, delivery);
    }
    if (!failure) {
      // Failure windows for the chaos suite: committed but not acked; or with others mid-apply.
      if (this.crashAt === 'projector-after-commit') process.kill(process.pid, 'SIGKILL');
      if (this.crashAt === 'projector-mid-batch' && this.inFlight.size >= 3) process.kill(process.pid, 'SIGKILL');
    }
    await this.settle(delivery, failure);
  }

  private async dispatch(
    subscriber: Subscriber,
    envelope: EventEnvelope,
    delivery: Delivery,
  ): Promise<{ kind: FailureKind; reason: string } | undefined> {
    const stop = projectionApplyDuration.startTimer({ projection: subscriber.name });
    const failure = await withSpan(
      `project ${subscriber.name}`,
      {
        parent: delivery.traceContext,
        kind: SpanKind.CONSUMER,
        attributes: {
          ...delivery.attributes,
          'messaging.operation.type': 'process',
          'emporium.projection': subscriber.name,
          'emporium.event.type': envelope.type,
          'emporium.event.id': envelope.id,
          'emporium.aggregate.id': envelope.aggregateId,
          'emporium.position': envelope.position,
        },
      },
      async (span) => {
        try {
          const outcome = await subscriber.handle(envelope);
          span.setAttribute('emporium.outcome', typeof outcome === 'string' ? outcome : 'applied');
          return undefined;
        } catch (error) {
          const kind = classify(error);
          span.setAttribute('emporium.outcome', kind);
          return { kind, reason: reasonOf(error) };
        }
      },
    );
    stop({ outcome: failure ? failure.kind : 'applied' });
    return failure;
  }

  private async settle(delivery: Delivery, failure: { kind: FailureKind; reason: string } | undefined): Promise<void> {
    const { subscription } = delivery;
    const delays = this.policy.retryDelaysMs;
    let action: 'ack' | 'retry' | 'dead-letter' = 'ack';
    try {
      if (!failure) {
        await delivery.ack();
      } else if (failure.kind === 'transient' || (failure.kind === 'failed' && delivery.attempts < delays.length)) {
        action = 'retry';
        const transient = failure.kind === 'transient';
        await delivery.retryLater({
          delayMs: transient ? (delays[delays.length - 1] ?? TRANSIENT_RETRY_MS) : delays[delivery.attempts],
          attempts: transient ? delivery.attempts : delivery.attempts + 1,
          transientRetries: transient ? delivery.transientRetries + 1 : delivery.transientRetries,
          reason: failure.reason,
        });
        this.logger.debug(`${subscription}: ${delivery.messageId} retried later: ${failure.reason}`);
      } else {
        action = 'dead-letter';
        await delivery.deadLetter({ reason: failure.reason, attempts: delivery.attempts + 1 });
        this.logger.warn(
          `${subscription}: ${delivery.messageId} dead-lettered after ${delivery.attempts + 1} attempt(s): ${failure.reason}`,
        );
      }
      deliveryOutcomes.inc({ subscriber: subscription, outcome: action });
    } catch (error) {
      // The channel or connection closed under it, or the dead-letter store is unreachable: the
      // message stays with the transport, which delivers it again; the inbox dedupes the redelivery.
      deliverySettleFailures.inc({ subscriber: subscription, action });
      this.logger.warn(`${subscription}: could not ${action} ${delivery.messageId}: ${reasonOf(error)}`);
    }
  }
}

function decode(content: Buffer | object): { envelope: EventEnvelope } | { problem: string } {
  let value: unknown = content;
  if (Buffer.isBuffer(content)) {
    try {
      value = JSON.parse(content.toString('utf8'));
    } catch {
      return { problem: 'body is not valid JSON' };
    }
  }
  const problem = envelopeProblem(value);
  return problem ? { problem: `invalid envelope: ${problem}` } : { envelope: value as EventEnvelope };
}
