import { Logger } from '@nestjs/common';
import { connect, type ChannelModel, type ConfirmChannel } from 'amqplib';

type Setup = (connection: ChannelModel) => Promise<void>;

/**
 * One AMQP connection that comes back by itself: when the broker closes it (restart,
 * `close_all_connections`, network) it reconnects with capped exponential backoff and re-runs
 * every registered setup (topology, confirm channels, consumers). A setup that fails closes the
 * connection and counts as a failed attempt, so nothing half-configured stays open.
 */
export class BrokerConnection {
  private readonly logger = new Logger(BrokerConnection.name);
  private connection: ChannelModel | undefined;
  private readonly setups: Setup[] = [];
  private stopping = false;
  private started = false;
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

  /**
   * Runs `work` on a short-lived confirm channel: inspection (queue depth) and operator actions
   * that move messages and wait for the broker's confirms.
   */
  async withChannel<T>(work: (channel: ConfirmChannel) => Promise<T>): Promise<T> {
    const connection = this.connection;
    if (!connection) throw new Error('broker is not connected');
    const channel = await connection.createConfirmChannel();
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

  /**
   * Starts connecting (once; later calls are no-ops). Resolves after the first attempt, whether
   * it succeeded or a retry was scheduled.
   */
  start(): Promise<void> {
    if (this.started) return this.connecting ?? Promise.resolve();
    this.started = true;
    this.stopping = false;
    this.connecting = this.connectOnce();
    return this.connecting;
  }

  /**
   * A channel that died while its connection lives (a consumer timeout, a protocol error) would
   * silently stop its consumer: drop the whole connection so everything is set up again.
   */
  recycle(reason: string): void {
    const connection = this.connection;
    if (!connection || this.stopping) return;
    this.logger.warn(`recycling the broker connection: ${reason}`);
    void connection.close().catch(() => undefined);
  }

  async close(): Promise<void> {
    this.stopping = true;
    this.started = false;
    clearTimeout(this.retryTimer);
    await this.connecting?.catch(() => undefined);
    const connection = this.connection;
    this.connection = undefined;
    await connection?.close().catch(() => undefined);
  }

  private async connectOnce(): Promise<void> {
    let connection: ChannelModel | undefined;
    try {
      connection = await connect(this.url, {
        clientProperties: { connection_name: this.connectionName },
        timeout: 10_000,
      });
      const opened = connection;
      opened.on('error', (error: Error) => this.logger.warn(`broker connection error: ${error.message}`));
      opened.on('close', () => this.onClosed(opened));
      opened.on('blocked', (reason: string) => this.logger.warn(`broker blocked this connection: ${reason}`));
      this.connection = opened;
      for (const setup of this.setups) await setup(opened);
      this.attempt = 0;
      this.logger.log(`connected to the broker as ${this.connectionName}`);
    } catch (error) {
      this.logger.warn(`broker unavailable (${(error as Error).message}); retrying`);
      if (this.connection === connection) this.connection = undefined;
      await connection?.close().catch(() => undefined);
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
      if (!this.stopping && !this.connection) this.connecting ??= this.connectOnce();
    }, delay);
    this.retryTimer.unref();
  }
}
