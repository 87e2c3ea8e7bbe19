import { Logger } from '@nestjs/common';
import { connect, type Channel, type ChannelModel } from 'amqplib';

type Setup = (connection: ChannelModel) => Promise<void>;

/**
 * One AMQP connection per process that comes back by itself: when the broker closes it (restart,
 * `close_all_connections`, network), it reconnects with capped exponential backoff and re-runs
 * every registered setup (topology, confirm channels, consumers).
 */
export class BrokerConnection {
  private readonly logger = new Logger(BrokerConnection.name);
  private connection: ChannelModel | undefined;
  private readonly setups: Setup[] = [];
  private stopping = false;
  private attempt = 0;
  private retryTimer: NodeJS.Timeout | undefined;
  private connecting: Promise<void> | undefined;

  constructor(
    private readonly url: string,
    private readonly connectionName: string,
  ) {}

  get isConnected(): boolean {
    return this.connection !== undefined;
  }

  /** Runs `work` on a short-lived channel (for inspection such as queue depth). */
  async withChannel<T>(work: (channel: Channel) => Promise<T>): Promise<T> {
    const connection = this.connection;
    if (!connection) throw new Error('broker is not connected');
    const channel = await connection.createChannel();
    channel.on('error', () => undefined);
    try {
      return await work(channel);
    } finally {
      await channel.close().catch(() => undefined);
    }
  }

  /** Runs now if connected, and again after every reconnect. */
  async onConnected(setup: Setup): Promise<void> {
    this.setups.push(setup);
    if (this.connection) await setup(this.connection);
  }

  /** Connects, retrying in the background; resolves after the first successful connection or failure. */
  start(): Promise<void> {
    this.stopping = false;
    this.connecting ??= this.connectOnce();
    return this.connecting;
  }

  async close(): Promise<void> {
    this.stopping = true;
    clearTimeout(this.retryTimer);
    const connection = this.connection;
    this.connection = undefined;
    await connection?.close().catch(() => undefined);
  }

  private async connectOnce(): Promise<void> {
    try {
      const connection = await connect(this.url, { clientProperties: { connection_name: this.connectionName } });
      connection.on('error', (error: Error) => this.logger.warn(`broker connection error: ${error.message}`));
      connection.on('close', () => this.onClosed(connection));
      this.connection = connection;
      this.attempt = 0;
      for (const setup of this.setups) await setup(connection);
      this.logger.log(`connected to the broker as ${this.connectionName}`);
    } catch (error) {
      this.logger.warn(`broker unavailable (${(error as Error).message}); retrying`);
      this.connection = undefined;
      this.scheduleReconnect();
    } finally {
      this.connecting = undefined;
    }
  }

  private onClosed(connection: ChannelModel): void {
    if (this.connection !== connection) return;
    this.connection = undefined;
    if (this.stopping) return;
    this.logger.warn('broker connection closed; reconnecting');
    this.scheduleReconnect();
  }

  private scheduleReconnect(): void {
    if (this.stopping) return;
    clearTimeout(this.retryTimer);
    const delay = Math.min(250 * 2 ** this.attempt, 5000) * (0.5 + Math.random() / 2);
    this.attempt += 1;
    this.retryTimer = setTimeout(() => {
      this.connecting ??= this.connectOnce();
    }, delay);
    this.retryTimer.unref();
  }
}
