import { randomBytes } from 'node:crypto';
import { connect } from 'amqplib';
import pg from 'pg';
import { AppConfig } from '@emporium/config';
import { ensureDatabase, migrateUp } from '@emporium/database';
import { SERVICE_URLS } from './services.js';

export interface IsolatedEnvironment {
  /** Environment variables for an app process or AppConfig.fromEnvironment. */
  env: Record<string, string>;
  config: AppConfig;
  databaseUrl: string;
  exchange: string;
  queuePrefix: string;
  /** Drops the database, exchange and every queue this environment created. */
  dispose(): Promise<void>;
}

/** Settings every system under test gets, whatever it runs on. */
export const TEST_SETTINGS: Readonly<Record<string, string>> = {
  NODE_ENV: 'test',
  PASSWORD_SCRYPT_COST: '1024',
  PROJECTION_RETRY_DELAYS_MS: '100,200',
  // Functional suites drive many clients from one address; the security suite sets real limits.
  RATE_LIMIT_DEFAULT: '100000',
  RATE_LIMIT_AUTH_PER_IP: '10000',
  RATE_LIMIT_AUTH_PER_ACCOUNT: '1000',
  LOG_LEVEL: 'warn',
};

/**
 * One database, one exchange and one queue prefix per test file, so suites run in parallel and
 * never see each other's data or messages.
 */
export async function isolatedEnvironment(
  label: string,
  entities: Parameters<typeof migrateUp>[1],
): Promise<IsolatedEnvironment> {
  const id = `${label
    .replace(/[^a-z0-9]/gi, '_')
    .toLowerCase()
    .slice(0, 30)}_${randomBytes(4).toString('hex')}`;
  const databaseUrl = `postgresql://postgres@127.0.0.1:5432/emporium_t_${id}`;
  const exchange = `t.${id}.events`;
  const queuePrefix = `t.${id}`;
  const env: Record<string, string> = {
    ...TEST_SETTINGS,
    DATABASE_URL: databaseUrl,
    AMQP_URL: SERVICE_URLS.amqp,
    AMQP_EXCHANGE: exchange,
    AMQP_QUEUE_PREFIX: queuePrefix,
    JWT_SECRET: randomBytes(32).toString('hex'),
  };
  const config = AppConfig.fromEnvironment(env);
  await ensureDatabase(config);
  await migrateUp(config, entities);
  return {
    env,
    config,
    databaseUrl,
    exchange,
    queuePrefix,
    dispose: async () => {
      await deleteBrokerObjects(exchange, queuePrefix);
      const admin = new pg.Client({ connectionString: SERVICE_URLS.postgres });
      await admin.connect();
      try {
        await admin.query(`drop database if exists "emporium_t_${id}" with (force)`);
      } finally {
        await admin.end();
      }
    },
  };
}

export const PROJECTION_QUEUE_SUFFIXES = ['', '.dlq', '.retry.100ms', '.retry.200ms'];

async function deleteBrokerObjects(exchange: string, prefix: string): Promise<void> {
  const connection = await connect(SERVICE_URLS.amqp);
  try {
    for (const projection of ['catalog', 'orders', 'sales', 'webhooks', 'probe']) {
      for (const suffix of PROJECTION_QUEUE_SUFFIXES) {
        const channel = await connection.createChannel();
        channel.on('error', () => undefined);
        await channel.deleteQueue(`${prefix}.${projection}${suffix}`).catch(() => undefined);
        await channel.close().catch(() => undefined);
      }
    }
    const channel = await connection.createChannel();
    channel.on('error', () => undefined);
    await channel.deleteExchange(exchange).catch(() => undefined);
    await channel.close().catch(() => undefined);
  } finally {
    await connection.close();
  }
}
