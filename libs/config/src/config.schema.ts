import { z } from 'zod';

const port = z.coerce.number().int().min(0).max(65535);
const positiveInt = z.coerce.number().int().positive();
const bool = z.enum(['true', 'false', '1', '0']).transform((v) => v === 'true' || v === '1');
const csvOfPositiveInts = z
  .string()
  .regex(/^\d+(,\d+)*$/, 'expected a comma-separated list of milliseconds, e.g. 1000,5000,30000')
  .transform((v) => v.split(',').map(Number))
  .refine(
    (delays) => delays.every((ms) => ms > 0),
    'every delay must be at least 1 ms (0 would retry in a tight loop)',
  );

const DURATION = /^(\d+)(ms|s|m|h|d)$/;
const UNIT_MS = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;

/** "250ms", "5s", "2m", "1h", "1d" in milliseconds; undefined if it is none of those. */
export function parseDuration(text: string): number | undefined {
  const match = DURATION.exec(text.trim());
  if (!match) return undefined;
  const ms = Number(match[1]) * UNIT_MS[match[2] as keyof typeof UNIT_MS];
  return ms > 0 && Number.isSafeInteger(ms) ? ms : undefined;
}

const duration = (example: string) =>
  z.string().transform((text, ctx) => {
    const ms = parseDuration(text);
    if (ms === undefined) {
      ctx.addIssue({
        code: 'custom',
        message: `expected a positive duration with a unit (ms, s, m, h or d), e.g. ${example}`,
      });
      return z.NEVER;
    }
    return ms;
  });

/** A duration, or `off` (null): for what a deployment may switch off. */
const durationOrOff = (example: string) =>
  z.string().transform((text, ctx) => {
    if (text.trim() === 'off') return null;
    const ms = parseDuration(text);
    if (ms === undefined) {
      ctx.addIssue({
        code: 'custom',
        message: `expected a positive duration with a unit (ms, s, m, h or d), e.g. ${example}, or off`,
      });
      return z.NEVER;
    }
    return ms;
  });

const durationList = (example: string) =>
  z.string().transform((text, ctx) => {
    const parts = text.split(',').map((part) => part.trim());
    const delays = parts.map(parseDuration);
    const bad = parts.filter((_, i) => delays[i] === undefined);
    if (parts.length === 0 || bad.length > 0) {
      ctx.addIssue({
        code: 'custom',
        message: `expected a comma-separated list of positive durations with units (ms, s, m, h, d), e.g. ${example}; not a duration: ${bad.map((b) => `"${b}"`).join(', ')}`,
      });
      return z.NEVER;
    }
    return delays as number[];
  });

/**
 * The one place that knows the environment. Every variable the apps, compose file and
 * Kubernetes manifests set must be declared here (a test checks that).
 */
export const environmentSchema = z
  .object({
    NODE_ENV: z.enum(['development', 'test', 'production']).default('development'),
    HOST: z.string().min(1).default('0.0.0.0'),
    PORT: port.default(3000),
    PROJECTOR_PORT: port.default(3001),
    LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),

    // Unset: the embedded PostgreSQL (PGlite) under DATA_DIR, for `npm start` on a bare machine.
    DATABASE_URL: z.url({ protocol: /^postgres(ql)?$/ }).optional(),
    DATA_DIR: z.string().min(1).default('.data'),
    EMBEDDED_DB_PORT: port.default(0),
    DEMO_DATA: bool.optional(),
    DB_POOL_MAX: positiveInt.default(10),
    DB_CONNECT_TIMEOUT_MS: positiveInt.default(5000),
    DB_STATEMENT_TIMEOUT_MS: positiveInt.default(15000),
    DB_LOCK_TIMEOUT_MS: positiveInt.default(5000),

    // Unset: events travel on the in-process transport that reads event_log (no broker).
    AMQP_URL: z.url({ protocol: /^amqps?$/ }).optional(),
    AMQP_EXCHANGE: z.string().min(1).default('emporium.events'),
    AMQP_QUEUE_PREFIX: z.string().min(1).default('emporium'),
    AMQP_PREFETCH: positiveInt.max(1000).default(32),
    PROJECTION_RETRY_DELAYS_MS: csvOfPositiveInts.default([1000, 5000, 30000]),

    RELAY_ENABLED: bool.default(true),
    RELAY_BATCH_SIZE: positiveInt.max(10000).default(500),
    RELAY_SWEEP_INTERVAL_MS: positiveInt.default(1000),

    JWT_ALGORITHM: z.enum(['HS256', 'RS256', 'ES256']).default('HS256'),
    JWT_SECRET: z.string().optional(),
    JWT_PRIVATE_KEY: z.string().optional(),
    JWT_PUBLIC_KEY: z.string().optional(),
    JWT_ISSUER: z.string().min(1).default('emporium'),
    JWT_AUDIENCE: z.string().min(1).default('emporium-api'),
    JWT_TTL: positiveInt.default(3600),

    ADMIN_EMAIL: z.email().optional(),
    ADMIN_PASSWORD: z.string().min(12, 'must be at least 12 characters').optional(),
    PASSWORD_SCRYPT_COST: positiveInt
      .refine((n) => n >= 2 && (n & (n - 1)) === 0, 'must be a power of two')
      .default(16384),
    PASSWORD_SCRYPT_BLOCK_SIZE: positiveInt.max(64).default(8),
    PASSWORD_SCRYPT_PARALLELISM: positiveInt.max(16).default(1),

    RATE_LIMIT_WINDOW_MS: positiveInt.default(60_000),
    RATE_LIMIT_DEFAULT: positiveInt.default(600),
    RATE_LIMIT_AUTH_PER_IP: positiveInt.default(20),
    RATE_LIMIT_AUTH_PER_ACCOUNT: positiveInt.default(5),
    TRUST_PROXY: z
      .string()
      .default('false')
      .refine((v) => v !== 'true', {
        message:
          'trusting every hop lets clients forge their address: give the number of proxies (e.g. 1) or their addresses',
      })
      .refine((v) => v === 'false' || /^\d{1,2}$/.test(v) || /^[0-9a-fA-F:./]+(,[0-9a-fA-F:./]+)*$/.test(v), {
        message: 'expected false, a hop count, or comma-separated proxy addresses/CIDRs',
      })
      .transform((v) => (v === 'false' ? false : /^\d+$/.test(v) ? Number(v) : v)),
    CORS_ORIGINS: z
      .string()
      .default('')
      .transform((v) =>
        v
          .split(',')
          .map((o) => o.trim())
          .filter(Boolean),
      )
      .refine((origins) => origins.every((o) => /^https?:\/\/[^/*\s]+$/.test(o)), {
        message: 'must be a comma-separated list of origins like https://shop.example.com (no wildcards, no paths)',
      }),
    REQUEST_TIMEOUT_MS: positiveInt.default(30_000),
    BODY_LIMIT_BYTES: positiveInt.default(1024 * 1024),

    // Unset: rate-limit counters live in each process (one replica). Set: shared by every replica.
    REDIS_URL: z.url({ protocol: /^rediss?$/ }).optional(),
    REDIS_KEY_PREFIX: z.string().min(1).max(100).default('emporium:'),
    REDIS_COMMAND_TIMEOUT_MS: positiveInt.max(10_000).default(250),
    // Per api process; 0 entries turns the catalog cache off.
    CATALOG_CACHE_MAX_ENTRIES: z.coerce.number().int().min(0).default(10_000),
    CATALOG_CACHE_MAX_BYTES: positiveInt.default(32 * 1024 * 1024),

    READ_YOUR_WRITES_TIMEOUT_MS: positiveInt.max(60000).default(5000),
    COMMAND_MAX_RETRIES: positiveInt.max(50).default(5),

    // An order still unpaid this long after it was placed is cancelled (reason payment-timeout).
    ORDER_PAYMENT_TIMEOUT: durationOrOff('30m').default(30 * 60_000),
    ORDER_EXPIRY_INTERVAL_MS: positiveInt.default(5000),
    // Live order updates (GET /api/v1/orders/stream, server-sent events).
    ORDER_STREAM_HEARTBEAT_MS: positiveInt.default(15_000),
    ORDER_STREAM_RETRY_MS: positiveInt.default(2000),
    ORDER_STREAM_MAX_PER_USER: positiveInt.max(1000).default(5),
    ORDER_STREAM_QUEUE_LIMIT: positiveInt.max(100_000).default(500),
    ORDER_STREAM_REPLAY_MAX_EVENTS: positiveInt.max(100_000).default(5000),
    ORDER_STREAM_REPLAY_MAX_AGE_MS: positiveInt.default(24 * 3600 * 1000),
    ORDER_STREAM_TICKET_TTL: positiveInt.max(600).default(30),

    HEALTH_CHECK_TIMEOUT_MS: positiveInt.default(2000),
    HEALTH_OUTBOX_MAX_AGE_MS: positiveInt.default(30000),
    HEALTH_PROJECTION_MAX_LAG: positiveInt.default(1000),
    HEALTH_DLQ_MAX_DEPTH: z.coerce.number().int().min(0).default(100),

    // Outgoing webhooks: the backoff before each retry (then the delivery is dead), how long one
    // attempt may take, and how long an endpoint may fail without a success before it is disabled.
    WEBHOOK_RETRY_SCHEDULE: durationList('5s,30s,2m,15m,1h,6h').default([
      5000, 30_000, 120_000, 900_000, 3_600_000, 21_600_000,
    ]),
    WEBHOOK_TIMEOUT: duration('10s').default(10_000),
    WEBHOOK_DISABLE_AFTER: duration('24h').default(86_400_000),
    // Only for development and tests: lets webhook URLs reach loopback and private addresses.
    WEBHOOK_ALLOW_PRIVATE_NETWORKS: bool.default(false),

    SHUTDOWN_GRACE_MS: positiveInt.default(10000),
    // Test-only fault injection: kill the process at a named point (refused outside NODE_ENV=test).
    CRASH_AT: z.enum(['relay-after-confirm', 'projector-after-commit', 'projector-mid-batch']).optional(),
    SHUTDOWN_DRAIN_DELAY_MS: z.coerce.number().int().min(0).default(0),
  })
  .superRefine((env, ctx) => {
    if (env.JWT_SECRET !== undefined && Buffer.byteLength(env.JWT_SECRET) < 32) {
      ctx.addIssue({ code: 'custom', path: ['JWT_SECRET'], message: 'must be at least 32 bytes' });
    }
    const asymmetric = env.JWT_ALGORITHM !== 'HS256';
    if (asymmetric && env.JWT_SECRET !== undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['JWT_SECRET'],
        message: `is for HS256; ${env.JWT_ALGORITHM} uses JWT_PRIVATE_KEY and JWT_PUBLIC_KEY`,
      });
    }
    if (!asymmetric && (env.JWT_PRIVATE_KEY !== undefined || env.JWT_PUBLIC_KEY !== undefined)) {
      ctx.addIssue({
        code: 'custom',
        path: ['JWT_ALGORITHM'],
        message: 'set RS256 or ES256 to use JWT_PRIVATE_KEY/JWT_PUBLIC_KEY',
      });
    }
    if (asymmetric && (env.JWT_PRIVATE_KEY === undefined) !== (env.JWT_PUBLIC_KEY === undefined)) {
      ctx.addIssue({
        code: 'custom',
        path: [env.JWT_PRIVATE_KEY === undefined ? 'JWT_PRIVATE_KEY' : 'JWT_PUBLIC_KEY'],
        message: 'JWT_PRIVATE_KEY and JWT_PUBLIC_KEY are set together',
      });
    }
    if ((env.ADMIN_EMAIL === undefined) !== (env.ADMIN_PASSWORD === undefined)) {
      ctx.addIssue({
        code: 'custom',
        path: [env.ADMIN_EMAIL === undefined ? 'ADMIN_EMAIL' : 'ADMIN_PASSWORD'],
        message: 'ADMIN_EMAIL and ADMIN_PASSWORD are set together or not at all',
      });
    }
    if (env.CRASH_AT !== undefined && env.NODE_ENV !== 'test') {
      ctx.addIssue({ code: 'custom', path: ['CRASH_AT'], message: 'is a test-only switch (NODE_ENV=test)' });
    }
    if (env.NODE_ENV === 'production') {
      const required = [
        'DATABASE_URL',
        'AMQP_URL',
        ...(asymmetric ? (['JWT_PRIVATE_KEY', 'JWT_PUBLIC_KEY'] as const) : (['JWT_SECRET'] as const)),
      ] as const;
      for (const name of required) {
        if (env[name] === undefined) {
          ctx.addIssue({ code: 'custom', path: [name], message: 'is required when NODE_ENV=production' });
        }
      }
    }
  });

export type Environment = z.infer<typeof environmentSchema>;
