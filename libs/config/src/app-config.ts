import { join, resolve } from 'node:path';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { environmentSchema, type Environment } from './config.schema.js';

/**
 * The database URL for a process that needs a server (the api or projector on its own, the
 * migration job, the tools): only `npm start` runs the embedded database.
 */
export function requireDatabaseUrl(config: AppConfig, who: string): string {
  if (config.database.url === undefined) {
    throw new ConfigError([
      `DATABASE_URL: is required by ${who}; only \`npm start\` runs the embedded database ` +
        '(set DATABASE_URL to a server, e.g. postgresql://postgres@127.0.0.1:5432/emporium, or to the URL ' +
        "`npm start` prints under 'tools' while it runs on the embedded database)",
    ]);
  }
  return config.database.url;
}

/**
 * The file in which a running all-in-one process on the embedded database publishes its socket's
 * URL, so tools on the same machine (the CLI) find it without DATABASE_URL.
 */
export function embeddedDatabaseUrlFile(dataDir: string): string {
  return join(resolve(dataDir), 'database-url');
}

/** The broker URL for a process that talks to RabbitMQ itself. */
export function requireAmqpUrl(config: AppConfig, who: string): string {
  if (config.amqp.url === undefined) {
    throw new ConfigError([
      `AMQP_URL: is required by ${who}; without a broker, \`npm start\` carries events in process (set AMQP_URL, e.g. amqp://127.0.0.1:5672)`,
    ]);
  }
  return config.amqp.url;
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

/**
 * The typed, validated configuration. It is also the DI token: inject `AppConfig` anywhere.
 * Nothing else in the code base reads `process.env`.
 */
type ConfigValues = {
  [K in keyof AppConfig as AppConfig[K] extends (...args: never[]) => unknown ? never : K]: AppConfig[K];
};

export class AppConfig {
  readonly env!: Environment['NODE_ENV'];
  readonly host!: string;
  readonly port!: number;
  readonly projectorPort!: number;
  readonly logLevel!: Environment['LOG_LEVEL'];
  readonly database!: {
    /** The PostgreSQL server; undefined: the embedded database (started by `npm start`). */
    url: string | undefined;
    /** Where the embedded database keeps its files. */
    dataDir: string;
    /** Loopback port of the embedded database's wire-protocol socket (0: any free port). */
    embeddedPort: number;
    poolMax: number;
    connectTimeoutMs: number;
    statementTimeoutMs: number;
    lockTimeoutMs: number;
  };
  readonly amqp!: {
    /** The RabbitMQ broker; undefined: the in-process transport that reads event_log. */
    url: string | undefined;
    exchange: string;
    queuePrefix: string;
    prefetch: number;
    retryDelaysMs: number[];
  };
  readonly relay!: { enabled: boolean; batchSize: number; sweepIntervalMs: number };
  readonly jwt!: {
    algorithm: 'HS256' | 'RS256' | 'ES256';
    /** The HS256 secret, or the PEM private key. */
    signingKey: string;
    /** The HS256 secret, or the PEM public key. */
    verifyKey: string;
    ephemeral: boolean;
    issuer: string;
    audience: string;
    ttlSeconds: number;
  };
  readonly admin!: { email: string; password: string } | undefined;
  /** Seed a demo catalog, admin and customer into an empty database (default: embedded database only). */
  readonly demoData!: boolean;
  readonly scrypt!: { cost: number; blockSize: number; parallelism: number };
  readonly rateLimit!: { windowMs: number; default: number; authPerIp: number; authPerAccount: number };
  readonly http!: {
    corsOrigins: string[];
    requestTimeoutMs: number;
    bodyLimitBytes: number;
    /** false, the number of proxy hops in front, or their addresses (never "trust everyone"). */
    trustProxy: false | number | string;
  };
  readonly orders!: {
    /** How long a placed order may stay unpaid before the system cancels it; undefined: never. */
    paymentTimeoutMs: number | undefined;
    /** How often a projector looks for orders whose payment is overdue. */
    expiryIntervalMs: number;
  };
  /** Shared rate-limit counters; url undefined: in-process counters. */
  readonly redis!: { url: string | undefined; keyPrefix: string; commandTimeoutMs: number };
  /** The api's in-process product cache (maxEntries 0: off). */
  readonly catalogCache!: { maxEntries: number; maxBytes: number };
  readonly readYourWritesTimeoutMs!: number;
  readonly commandMaxRetries!: number;
  /** Live order updates over server-sent events. */
  readonly orderStream!: {
    heartbeatMs: number;
    /** Sent to clients as the reconnection delay (`retry:`). */
    retryMs: number;
    maxPerUser: number;
    /** Messages waiting for a slow client before it is dropped. */
    queueLimit: number;
    /** A resume further back than this many order events, or this age, starts over with a reset. */
    replayMaxEvents: number;
    replayMaxAgeMs: number;
    ticketTtlSeconds: number;
  };
  readonly health!: { timeoutMs: number; outboxMaxAgeMs: number; projectionMaxLag: number; dlqMaxDepth: number };
  readonly webhooks!: {
    /** Backoff before each retry of a failed delivery; after the last, the delivery is dead. */
    retryScheduleMs: number[];
    timeoutMs: number;
    /** An endpoint that has failed for this long without a success is disabled. */
    disableAfterMs: number;
    /** Lets endpoint URLs reach loopback, private and link-local addresses (development and tests). */
    allowPrivateNetworks: boolean;
  };
  readonly shutdownGraceMs!: number;
  /** Test-only: the named point at which the process kills itself (SIGKILL). */
  readonly crashAt!: Environment['CRASH_AT'];
  /** How long readiness reports 503 before the server stops accepting (load balancers catch up). */
  readonly shutdownDrainDelayMs!: number;
  /** Problems that did not stop start-up but an operator should see (e.g. an ephemeral JWT key). */
  readonly warnings!: string[];

  private constructor(values: ConfigValues) {
    Object.assign(this, values);
  }

  static fromEnvironment(environment: Record<string, string | undefined>): AppConfig {
    // An empty variable (e.g. `ADMIN_EMAIL=` from a compose default) means "not set".
    const source = Object.fromEntries(Object.entries(environment).filter(([, value]) => value !== ''));
    const parsed = environmentSchema.safeParse(source);
    if (!parsed.success) {
      throw new ConfigError(
        parsed.error.issues.map((issue) => {
          const name = issue.path.join('.') || '(environment)';
          const raw = typeof issue.path[0] === 'string' ? source[issue.path[0]] : undefined;
          const shown = raw === undefined || /SECRET|PASSWORD/.test(name) ? '' : ` (got "${raw}")`;
          return `${name}: ${issue.message}${shown}`;
        }),
      );
    }
    const e = parsed.data;
    const warnings: string[] = [];
    const pem = (value: string): string => value.replace(/\\n/g, '\n');
    let signingKey: string;
    let verifyKey: string;
    const ephemeral = e.JWT_ALGORITHM === 'HS256' ? e.JWT_SECRET === undefined : e.JWT_PRIVATE_KEY === undefined;
    if (e.JWT_ALGORITHM === 'HS256') {
      signingKey = verifyKey = e.JWT_SECRET ?? randomBytes(48).toString('base64url');
    } else if (e.JWT_PRIVATE_KEY && e.JWT_PUBLIC_KEY) {
      signingKey = pem(e.JWT_PRIVATE_KEY);
      verifyKey = pem(e.JWT_PUBLIC_KEY);
    } else {
      const pair =
        e.JWT_ALGORITHM === 'RS256'
          ? generateKeyPairSync('rsa', { modulusLength: 2048 })
          : generateKeyPairSync('ec', { namedCurve: 'P-256' });
      signingKey = pair.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
      verifyKey = pair.publicKey.export({ type: 'spki', format: 'pem' }).toString();
    }
    if (ephemeral) {
      warnings.push(
        `no JWT key is configured: using an ephemeral ${e.JWT_ALGORITHM} key; tokens die with this process ` +
          '(set JWT_SECRET, or JWT_PRIVATE_KEY and JWT_PUBLIC_KEY)',
      );
    }
    return new AppConfig({
      env: e.NODE_ENV,
      host: e.HOST,
      port: e.PORT,
      projectorPort: e.PROJECTOR_PORT,
      logLevel: e.LOG_LEVEL,
      database: {
        url: e.DATABASE_URL,
        dataDir: e.DATA_DIR,
        embeddedPort: e.EMBEDDED_DB_PORT,
        poolMax: e.DB_POOL_MAX,
        connectTimeoutMs: e.DB_CONNECT_TIMEOUT_MS,
        statementTimeoutMs: e.DB_STATEMENT_TIMEOUT_MS,
        lockTimeoutMs: e.DB_LOCK_TIMEOUT_MS,
      },
      amqp: {
        url: e.AMQP_URL,
        exchange: e.AMQP_EXCHANGE,
        queuePrefix: e.AMQP_QUEUE_PREFIX,
        prefetch: e.AMQP_PREFETCH,
        retryDelaysMs: e.PROJECTION_RETRY_DELAYS_MS,
      },
      relay: { enabled: e.RELAY_ENABLED, batchSize: e.RELAY_BATCH_SIZE, sweepIntervalMs: e.RELAY_SWEEP_INTERVAL_MS },
      jwt: {
        algorithm: e.JWT_ALGORITHM,
        signingKey,
        verifyKey,
        ephemeral,
        issuer: e.JWT_ISSUER,
        audience: e.JWT_AUDIENCE,
        ttlSeconds: e.JWT_TTL,
      },
      demoData: e.DEMO_DATA ?? e.DATABASE_URL === undefined,
      admin: e.ADMIN_EMAIL && e.ADMIN_PASSWORD ? { email: e.ADMIN_EMAIL, password: e.ADMIN_PASSWORD } : undefined,
      scrypt: {
        cost: e.PASSWORD_SCRYPT_COST,
        blockSize: e.PASSWORD_SCRYPT_BLOCK_SIZE,
        parallelism: e.PASSWORD_SCRYPT_PARALLELISM,
      },
      rateLimit: {
        windowMs: e.RATE_LIMIT_WINDOW_MS,
        default: e.RATE_LIMIT_DEFAULT,
        authPerIp: e.RATE_LIMIT_AUTH_PER_IP,
        authPerAccount: e.RATE_LIMIT_AUTH_PER_ACCOUNT,
      },
      http: {
        corsOrigins: e.CORS_ORIGINS,
        requestTimeoutMs: e.REQUEST_TIMEOUT_MS,
        bodyLimitBytes: e.BODY_LIMIT_BYTES,
        trustProxy: e.TRUST_PROXY,
      },
      orders: { paymentTimeoutMs: e.ORDER_PAYMENT_TIMEOUT ?? undefined, expiryIntervalMs: e.ORDER_EXPIRY_INTERVAL_MS },
      redis: { url: e.REDIS_URL, keyPrefix: e.REDIS_KEY_PREFIX, commandTimeoutMs: e.REDIS_COMMAND_TIMEOUT_MS },
      catalogCache: { maxEntries: e.CATALOG_CACHE_MAX_ENTRIES, maxBytes: e.CATALOG_CACHE_MAX_BYTES },
      readYourWritesTimeoutMs: e.READ_YOUR_WRITES_TIMEOUT_MS,
      commandMaxRetries: e.COMMAND_MAX_RETRIES,
      orderStream: {
        heartbeatMs: e.ORDER_STREAM_HEARTBEAT_MS,
        retryMs: e.ORDER_STREAM_RETRY_MS,
        maxPerUser: e.ORDER_STREAM_MAX_PER_USER,
        queueLimit: e.ORDER_STREAM_QUEUE_LIMIT,
        replayMaxEvents: e.ORDER_STREAM_REPLAY_MAX_EVENTS,
        replayMaxAgeMs: e.ORDER_STREAM_REPLAY_MAX_AGE_MS,
        ticketTtlSeconds: e.ORDER_STREAM_TICKET_TTL,
      },
      health: {
        timeoutMs: e.HEALTH_CHECK_TIMEOUT_MS,
        outboxMaxAgeMs: e.HEALTH_OUTBOX_MAX_AGE_MS,
        projectionMaxLag: e.HEALTH_PROJECTION_MAX_LAG,
        dlqMaxDepth: e.HEALTH_DLQ_MAX_DEPTH,
      },
      webhooks: {
        retryScheduleMs: e.WEBHOOK_RETRY_SCHEDULE,
        timeoutMs: e.WEBHOOK_TIMEOUT,
        disableAfterMs: e.WEBHOOK_DISABLE_AFTER,
        allowPrivateNetworks: e.WEBHOOK_ALLOW_PRIVATE_NETWORKS,
      },
      shutdownGraceMs: e.SHUTDOWN_GRACE_MS,
      crashAt: e.CRASH_AT,
      shutdownDrainDelayMs: e.SHUTDOWN_DRAIN_DELAY_MS,
      warnings,
    });
  }

  /** This configuration on the embedded database, once it is up at `url`. */
  withEmbeddedDatabase(url: string): AppConfig {
    return new AppConfig({ ...this, database: { ...this.database, url } });
  }

  /** Variable names the schema knows; used to check deployment files. */
  static knownVariables(): string[] {
    return Object.keys(environmentSchema.shape);
  }
}
