import type { ConfirmChannel, GetMessage } from 'amqplib';
import { BrokerConnection } from './broker-connection.js';
import { ProjectionTopology } from './topology.js';
import { Headers } from './rabbitmq.transport.js';
import { NoSuchDeadLetter, type DeadLetter, type DeadLetterStore, type Subscription } from '../delivery/port.js';

export interface RabbitMqDeadLettersOptions {
  url: string;
  exchange: string;
  queuePrefix: string;
  connectionName: string;
}

/** Dead letters are the messages of each subscription's `.dlq` queue. */
export class RabbitMqDeadLetters implements DeadLetterStore {
  private readonly broker: BrokerConnection;
  private readonly topologies: Map<string, ProjectionTopology>;

  constructor(
    private readonly options: RabbitMqDeadLettersOptions,
    subscriptions: readonly Subscription[],
  ) {
    this.broker = new BrokerConnection(options.url, options.connectionName);
    this.topologies = new Map(
      subscriptions.map((s) => [
        s.name,
        new ProjectionTopology(options.exchange, options.queuePrefix, s.name, s.eventTypes, []),
      ]),
    );
  }

  async depth(subscription: string): Promise<number> {
    const topology = this.topology(subscription);
    await this.broker.start();
    return this.broker.withChannel(
      async (channel) => (await channel.checkQueue(topology.deadLetterQueue)).messageCount,
    );
  }

  list(subscription: string): Promise<DeadLetter[]> {
    return this.withDeadLetters(subscription, (_channel, messages) => Promise.resolve(messages.map(describe)));
  }

  /** Moves them back to the subscription's queue with the retry headers removed, one confirm each. */
  replay(subscription: string, messageId?: string): Promise<DeadLetter[]> {
    const topology = this.topology(subscription);
    return this.withDeadLetters(subscription, async (channel, messages) => {
      const replayed: DeadLetter[] = [];
      for (const message of select(messages, messageId)) {
        const headers = { ...(message.properties.headers ?? {}) };
        for (const key of Object.keys(headers)) {
          if (key.startsWith('x-emporium-') || key === 'x-death') delete headers[key];
        }
        await new Promise<void>((resolve, reject) =>
          channel.sendToQueue(
            topology.queue,
            message.content,
            { ...message.properties, headers, persistent: true },
            (error: unknown) => (error ? reject(new Error('the broker did not confirm the replay')) : resolve()),
          ),
        );
        channel.ack(message);
        replayed.push(describe(message));
      }
      return replayed;
    });
  }

  discard(subscription: string, messageId?: string): Promise<DeadLetter[]> {
    return this.withDeadLetters(subscription, (channel, messages) => {
      const discarded = select(messages, messageId);
      for (const message of discarded) channel.ack(message);
      return Promise.resolve(discarded.map(describe));
    });
  }

  async close(): Promise<void> {
    await this.broker.close();
  }

  private topology(subscription: string): ProjectionTopology {
    const topology = this.topologies.get(subscription);
    if (!topology) {
      throw new Error(`unknown subscription "${subscription}": one of ${[...this.topologies.keys()].join(', ')}`);
    }
    return topology;
  }

  /**
   * Takes every dead letter of a subscription off its queue without acking; what `work` does not
   * ack goes back to the queue when the channel closes, so an interrupted command loses nothing.
   */
  private async withDeadLetters<T>(
    subscription: string,
    work: (channel: ConfirmChannel, messages: GetMessage[]) => Promise<T>,
  ): Promise<T> {
    const topology = this.topology(subscription);
    await this.broker.start();
    return this.broker.withChannel(async (channel) => {
      const messages: GetMessage[] = [];
      for (;;) {
        const message = await channel.get(topology.deadLetterQueue, { noAck: false });
        if (!message) break;
        messages.push(message);
      }
      const result = await work(channel, messages);
      await channel.waitForConfirms();
      return result;
    });
  }
}

function select(messages: GetMessage[], messageId: string | undefined): GetMessage[] {
  if (messageId === undefined) return messages;
  const chosen = messages.filter((m) => m.properties.messageId === messageId);
  if (chosen.length === 0) throw new NoSuchDeadLetter(messageId);
  return chosen;
}

const text = (value: unknown): string =>
  typeof value === 'string'
    ? value
    : Buffer.isBuffer(value)
      ? value.toString('utf8')
      : value === undefined
        ? ''
        : JSON.stringify(value);

function describe(message: GetMessage): DeadLetter {
  const headers = (message.properties.headers ?? {}) as Record<string, unknown>;
  return {
    messageId: String(message.properties.messageId ?? ''),
    type: String(message.properties.type ?? ''),
    routingKey: text(headers[Headers.originalRoutingKey] ?? message.fields.routingKey),
    attempts: Number(headers[Headers.attempts] ?? 0),
    error: text(headers[Headers.error]),
    failedAt: text(headers[Headers.failedAt]),
    body: message.content.toString('utf8'),
    headers,
  };
}
