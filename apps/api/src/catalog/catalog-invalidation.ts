import { hostname } from 'node:os';
import { Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import pg from 'pg';
import { AppConfig, requireDatabaseUrl } from '@emporium/config';
import { CATALOG_CHANNEL } from '@emporium/catalog';
import { CachedProducts } from './cached-products.js';

const HEARTBEAT_MS = 2000;
const HEARTBEAT_TIMEOUT_MS = 2000;

/**
 * Keeps this replica's product cache honest. The catalog projection's transaction sends
 * `pg_notify('emporium_catalog', <product id>)` for every row it changes, delivered only if it
 * commits; this listener, on a connection of its own, drops those entries. While the connection
 * is down, or until it is LISTENing again, notifications may be lost, so the cache is emptied and
 * bypassed. A heartbeat (the same LISTEN, every 2 s) finds a connection that died silently.
 */
@Injectable()
export class CatalogInvalidation implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('CatalogCache');
  private client: pg.Client | undefined;
  private stopped = false;
  private retry: NodeJS.Timeout | undefined;
  private heartbeat: NodeJS.Timeout | undefined;
  private attempts = 0;
  private lastError: string | undefined;
  /** Names this replica's connection in pg_stat_activity. */
  readonly applicationName = `emporium-catalog-cache:${hostname()}:${process.pid}`.slice(0, 63);

  constructor(
    private readonly config: AppConfig,
    private readonly products: CachedProducts,
  ) {}

  onApplicationBootstrap(): void {
    if (this.products.enabled) void this.connect();
  }

  async onApplicationShutdown(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.retry);
    await this.drop();
  }

  /** For /health: the cache is an optimisation; without its feed the api serves from the database. */
  state(): Record<string, unknown> {
    if (!this.products.enabled) return { cache: 'off' };
    const listening = this.products.cache.active;
    return {
      cache: listening ? 'active' : 'bypassed',
      entries: this.products.cache.size,
      ...(listening ? {} : { degraded: true, lastError: this.lastError ?? 'connecting' }),
    };
  }

  private async connect(): Promise<void> {
    if (this.stopped) return;
    const client = new pg.Client({
      connectionString: requireDatabaseUrl(this.config, 'the catalog cache'),
      application_name: this.applicationName,
      keepAlive: true,
      connectionTimeoutMillis: 5000,
      query_timeout: HEARTBEAT_TIMEOUT_MS,
    });
    client.on('error', (error: Error) => this.lost(client, error));
    client.on('end', () => this.lost(client, new Error('connection closed')));
    client.on('notification', (message) => {
      if (message.channel === CATALOG_CHANNEL && message.payload) this.products.cache.invalidate(message.payload);
    });
    this.client = client;
    try {
      await client.connect();
      await client.query(`LISTEN ${CATALOG_CHANNEL}`);
      if (this.client !== client) return;
      this.attempts = 0;
      this.lastError = undefined;
      // From here on every committed change is notified: caching is safe again, from empty.
      this.products.cache.resume();
      this.logger.log('catalog cache is listening for changes');
      this.heartbeat = setInterval(() => {
        client.query(`LISTEN ${CATALOG_CHANNEL}`).catch((error: Error) => this.lost(client, error));
      }, HEARTBEAT_MS);
      this.heartbeat.unref();
    } catch (error) {
      this.lost(client, error as Error);
    }
  }

  private lost(client: pg.Client, error: Error): void {
    if (this.client !== client) return;
    this.products.cache.suspend();
    this.lastError = error.message;
    void this.drop();
    if (this.stopped) return;
    this.logger.warn(`catalog cache bypassed until its change feed is back: ${error.message}`);
    this.attempts += 1;
    this.retry = setTimeout(() => void this.connect(), Math.min(100 * 2 ** Math.min(this.attempts, 5), 2000));
    this.retry.unref();
  }

  private async drop(): Promise<void> {
    const client = this.client;
    this.client = undefined;
    clearInterval(this.heartbeat);
    this.products.cache.suspend();
    await client?.end().catch(() => undefined);
  }
}
