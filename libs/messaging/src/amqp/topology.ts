import type { Channel } from 'amqplib';

/** Names of everything a projection owns on the broker, derived from one prefix. */
export class ProjectionTopology {
  constructor(
    readonly exchange: string,
    readonly prefix: string,
    readonly projection: string,
    readonly eventTypes: readonly string[],
    readonly retryDelaysMs: readonly number[],
  ) {}

  get queue(): string {
    return `${this.prefix}.${this.projection}`;
  }
  get deadLetterQueue(): string {
    return `${this.queue}.dlq`;
  }
  /** The delay queue of one backoff step, named by its delay, so changing the delays declares new
   * queues instead of clashing with old ones. */
  retryQueueFor(delayMs: number): string {
    return `${this.queue}.retry.${this.declaredDelay(delayMs)}ms`;
  }

  /**
   * The declared backoff step for a requested delay: the shortest one at least as long, else the
   * longest. Only declared delay queues exist, and a message sent to a queue that does not exist
   * is dropped by the broker (and still confirmed).
   */
  private declaredDelay(delayMs: number): number {
    const steps = [...this.retryDelaysMs].sort((a, b) => a - b);
    if (steps.length === 0) throw new Error(`${this.queue} has no retry delay queues`);
    return steps.find((step) => step >= delayMs) ?? steps[steps.length - 1];
  }

  /**
   * Declares (idempotently) the durable topic exchange, the projection's queue bound to its event
   * types, one delay queue per retry step (TTL, then dead-lettered back to the main queue through
   * the default exchange) and the dead-letter queue. Works on RabbitMQ 3.8+ without plugins.
   */
  async declare(channel: Channel): Promise<void> {
    await channel.assertExchange(this.exchange, 'topic', { durable: true });
    // Anything rejected without our handling still lands in the dead-letter queue, never vanishes.
    await channel.assertQueue(this.queue, {
      durable: true,
      arguments: { 'x-dead-letter-exchange': '', 'x-dead-letter-routing-key': this.deadLetterQueue },
    });
    for (const type of this.eventTypes) await channel.bindQueue(this.queue, this.exchange, type);
    for (let i = 0; i < this.retryDelaysMs.length; i++) {
      await channel.assertQueue(this.retryQueueFor(this.retryDelaysMs[i]), {
        durable: true,
        arguments: {
          'x-message-ttl': this.retryDelaysMs[i],
          'x-dead-letter-exchange': '',
          'x-dead-letter-routing-key': this.queue,
        },
      });
    }
    await channel.assertQueue(this.deadLetterQueue, { durable: true });
  }
}
