import { Logger } from '@nestjs/common';
import type { Channel, ChannelModel, ConsumeMessage } from 'amqplib';
import { BrokerConnection } from './broker-connection.js';
import type { LiveFeed } from '../live/live-feed.js';

export interface RabbitMqLiveFeedOptions {
  url: string;
  exchange: string;
  connectionName: string;
}

/**
 * The distributed mode's live feed: each process consumes a queue of its own (server-named,
 * exclusive, auto-delete, not durable) bound to the relay's exchange, so every replica hears of
 * every event whichever replica wrote it. Nothing needs to survive in that queue: after a
 * (re)connect the feed rings once, and the reader catches up from `event_log`.
 */
export class RabbitMqLiveFeed implements LiveFeed {
  private readonly logger = new Logger(RabbitMqLiveFeed.name);
  private readonly broker: BrokerConnection;
  private channel: Channel | undefined;
  private stopping = false;

  constructor(private readonly options: RabbitMqLiveFeedOptions) {
    this.broker = new BrokerConnection(options.url, options.connectionName);
  }

  get connected(): boolean {
    return this.broker.isConnected && this.channel !== undefined;
  }

  async start(topic: string, signal: (position: string | undefined) => void): Promise<void> {
    this.stopping = false;
    await this.broker.onConnected((connection) => this.consume(connection, topic, signal));
    // Never holds up start-up: without a broker the reader's sweep still finds every change.
    void this.broker.start();
  }

  async close(): Promise<void> {
    this.stopping = true;
    await this.broker.close();
    this.channel = undefined;
  }

  private async consume(
    connection: ChannelModel,
    topic: string,
    signal: (position: string | undefined) => void,
  ): Promise<void> {
    const channel = await connection.createChannel();
    channel.on('error', (error: Error) => this.logger.warn(`live feed channel error: ${error.message}`));
    channel.on('close', () => {
      if (this.channel === channel) this.channel = undefined;
      if (!this.stopping) this.broker.recycle('the live feed channel closed');
    });
    await channel.assertExchange(this.options.exchange, 'topic', { durable: true });
    const { queue } = await channel.assertQueue('', { exclusive: true, autoDelete: true, durable: false });
    await channel.bindQueue(queue, this.options.exchange, topic);
    await channel.consume(
      queue,
      (message) => {
        if (message) signal(positionOf(message));
        else this.broker.recycle('the broker cancelled the live feed consumer');
      },
      { noAck: true },
    );
    this.channel = channel;
    signal(undefined); // whatever was published while disconnected is read from event_log
  }
}

function positionOf(message: ConsumeMessage): string | undefined {
  try {
    const { position } = JSON.parse(message.content.toString()) as { position?: unknown };
    return typeof position === 'string' && /^\d{1,19}$/.test(position) ? position : undefined;
  } catch {
    return undefined;
  }
}
