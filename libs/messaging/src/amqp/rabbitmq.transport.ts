import { Logger } from '@nestjs/common';
import type { ChannelModel, ConfirmChannel, ConsumeMessage, Options } from 'amqplib';
import { contextFrom } from '@emporium/telemetry';
import { BrokerConnection } from './broker-connection.js';
import { ProjectionTopology } from './topology.js';
import {
  SettlementLost,
  type Delivery,
  type DeliveryTransport,
  type Retry,
  type Subscription,
} from '../delivery/port.js';

export const Headers = {
  attempts: 'x-emporium-attempts',
  transientRetries: 'x-emporium-transient-retries',
  error: 'x-emporium-error',
  failedAt: 'x-emporium-failed-at',
  projection: 'x-emporium-projection',
  originalRoutingKey: 'x-original-routing-key',
} as const;

export interface RabbitMqTransportOptions {
  url: string;
  exchange: string;
  queuePrefix: string;
  prefetch: number;
  retryDelaysMs: readonly number[];
  connectionName: string;
}

/** One consumer channel; `open` turns false when it closes, and every settle on it becomes a no-op. */
interface Consumer {
  channel: ConfirmChannel;
  consumerTag: string;
  open: boolean;
}

/**
 * RabbitMQ behind the delivery port (Nest's own RMQ transport auto-acks, publishes non-persistent
 * messages, has unbounded prefetch and leaves a message un-acked when a handler throws:
 * docs/adr/0004-projector-transport-on-amqplib.md):
 *
 * - each subscription consumes its own durable queue, with bounded prefetch and manual acks;
 * - retry later = publish to the delay queue of that backoff (TTL, then back to the queue), with
 *   the counts and reason in headers, confirmed, then ack; dead-letter = the same into `.dlq`;
 * - a settlement on a channel that has closed is refused with SettlementLost (the broker
 *   redelivers the message to the next consumer), never an exception out of amqplib;
 * - a channel that dies while its connection lives recycles the connection, so consumers come back.
 */
export class RabbitMqTransport implements DeliveryTransport {
  readonly healthCheck = 'broker';
  private readonly logger = new Logger(RabbitMqTransport.name);
  private readonly broker: BrokerConnection;
  private readonly consumers = new Map<string, Consumer>();
  private topologies: ProjectionTopology[] = [];
  private receiving = false;

  constructor(private readonly options: RabbitMqTransportOptions) {
    this.broker = new BrokerConnection(options.url, options.connectionName);
  }

  get connected(): boolean {
    return this.broker.isConnected;
  }

  async start(subscriptions: readonly Subscription[], receive: (delivery: Delivery) => void): Promise<void> {
    const { exchange, queuePrefix, retryDelaysMs } = this.options;
    this.topologies = subscriptions.map(
      (s) => new ProjectionTopology(exchange, queuePrefix, s.name, s.eventTypes, retryDelaysMs),
    );
    this.receiving = true;
    await this.broker.onConnected((connection) => this.consumeAll(connection, receive));
    await this.broker.start();
  }

  async stopReceiving(): Promise<void> {
    this.receiving = false;
    for (const consumer of this.consumers.values()) {
      if (consumer.open) await consumer.channel.cancel(consumer.consumerTag).catch(() => undefined);
    }
  }

  async close(): Promise<void> {
    this.receiving = false;
    await this.broker.close();
    this.consumers.clear();
  }

  private async consumeAll(connection: ChannelModel, receive: (delivery: Delivery) => void): Promise<void> {
    for (const topology of this.topologies) {
      if (!this.receiving) return;
      const channel = await connection.createConfirmChannel();
      const consumer: Consumer = { channel, consumerTag: '', open: true };
      channel.on('error', (error: Error) => this.logger.warn(`${topology.queue} channel error: ${error.message}`));
      channel.on('close', () => {
        consumer.open = false;
        if (this.consumers.get(topology.projection) === consumer && this.receiving) {
          this.broker.recycle(`the ${topology.queue} channel closed`);
        }
      });
      await topology.declare(channel);
      await channel.prefetch(this.options.prefetch);
      this.consumers.set(topology.projection, consumer);
      ({ consumerTag: consumer.consumerTag } = await channel.consume(
        topology.queue,
        (message) => {
          if (message) receive(this.delivery(topology, consumer, message));
          else this.broker.recycle(`the broker cancelled the ${topology.queue} consumer`);
        },
        { noAck: false },
      ));
    }
  }

  private delivery(topology: ProjectionTopology, consumer: Consumer, message: ConsumeMessage): Delivery {
    const headers = message.properties.headers ?? {};
    // The consumer span (the core's) continues the request's trace stored in the message.
    const traceContext = contextFrom(headers);
    const onOpenChannel = (what: string, settle: (channel: ConfirmChannel) => void): void => {
      if (!consumer.open) throw new SettlementLost(`${what}: the ${topology.queue} channel has closed`);
      settle(consumer.channel);
    };
    const park = async (target: string, next: Record<string, unknown>, reason: string): Promise<void> => {
      const properties: Options.Publish = {
        ...message.properties,
        headers: {
          ...headers,
          ...next,
          [Headers.error]: reason.slice(0, 1000),
          [Headers.failedAt]: new Date().toISOString(),
          [Headers.projection]: topology.projection,
          [Headers.originalRoutingKey]:
            (headers[Headers.originalRoutingKey] as string | undefined) ?? message.fields.routingKey,
        },
        persistent: true,
        expiration: undefined,
      };
      try {
        await new Promise<void>((resolve, reject) => {
          onOpenChannel('park', (channel) =>
            channel.sendToQueue(target, message.content, properties, (error: unknown) =>
              error ? reject(error instanceof Error ? error : new Error('the broker did not confirm')) : resolve(),
            ),
          );
        });
      } catch (error) {
        // Could not park it: hand it back to the queue (never drop it, never leave it unacked on
        // a live channel); if the channel is gone, the broker requeues it by itself.
        if (consumer.open) consumer.channel.nack(message, false, true);
        throw error;
      }
      onOpenChannel('ack', (channel) => channel.ack(message));
    };
    return {
      subscription: topology.projection,
      messageId: String(message.properties.messageId ?? ''),
      content: message.content,
      attempts: Number(headers[Headers.attempts] ?? 0),
      transientRetries: Number(headers[Headers.transientRetries] ?? 0),
      traceContext,
      attributes: {
        'messaging.system': 'rabbitmq',
        'messaging.destination.name': topology.queue,
        'messaging.message.id': String(message.properties.messageId ?? ''),
        'messaging.rabbitmq.destination.routing_key': message.fields.routingKey,
      },
      ack: () => Promise.resolve().then(() => onOpenChannel('ack', (channel) => channel.ack(message))),
      retryLater: (retry: Retry) =>
        park(
          topology.retryQueueFor(retry.delayMs),
          { [Headers.attempts]: retry.attempts, [Headers.transientRetries]: retry.transientRetries },
          retry.reason,
        ),
      deadLetter: ({ reason, attempts }) => park(topology.deadLetterQueue, { [Headers.attempts]: attempts }, reason),
    };
  }
}
