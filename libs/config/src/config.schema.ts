import { z } from 'zod';

const port = z.coerce.number().int().min(0).max(65535);
const positiveInt = z.coerce.number().int().positive();
const bool = z.enum(['true', 'false', '1', '0']).transform((v) => v === 'true' || v === '1');
const csvOfPositiveInts = z
  .string()
  .regex(/^\d+(,\d+)*$/, 'expected a comma-separated list of milliseconds, e.g. 1000,5000,30000')
  .transform((v) => v.split(',').map(Number));

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

    DATABASE_URL: z.url({ protocol: /^postgres(ql)?$/ }).optional(),
    DB_POOL_MAX: positiveInt.default(10),
    DB_CONNECT_TIMEOUT_MS: positiveInt.default(5000),
    DB_STATEMENT_TIMEOUT_MS: positiveInt.default(15000),
    DB_LOCK_TIMEOUT_MS: positiveInt.default(5000),

    AMQP_URL: z.url({ protocol: /^amqps?$/ }).optional(),
    AMQP_EXCHANGE: z.string().min(1).default('emporium.events'),
    AMQP_QUEUE_PREFIX: z.string().min(1).default('emporium'),
    AMQP_PREFETCH: positiveInt.max(1000).default(32),
    PROJECTION_RETRY_DELAYS_MS: csvOfPositiveInts.default([1000, 5000, 30000]),

    RELAY_ENABLED: bool.default(true),
    RELAY_BATCH_SIZE: positiveInt.max(10000).default(500),
    RELAY_SWEEP_INTERVAL_MS: positiveInt.default(1000),

    JWT_SECRET: z.string().optional(),
    JWT_ISSUER: z.string().min(1).default('emporium'),
    JWT_AUDIENCE: z.string().min(1).default('emporium-api'),
    JWT_TTL: positiveInt.default(3600),

    ADMIN_EMAIL: z.email().optional(),
    ADMIN_PASSWORD: z.string().min(12, 'must be at least 12 characters').optional(),
    PASSWORD_SCRYPT_COST: positiveInt.refine((n) => (n & (n - 1)) === 0, 'must be a power of two').default(16384),

    READ_YOUR_WRITES_TIMEOUT_MS: positiveInt.max(60000).default(5000),
    COMMAND_MAX_RETRIES: positiveInt.max(50).default(5),

    HEALTH_CHECK_TIMEOUT_MS: positiveInt.default(2000),
    HEALTH_OUTBOX_MAX_AGE_MS: positiveInt.default(30000),
    HEALTH_PROJECTION_MAX_LAG: positiveInt.default(1000),
    HEALTH_DLQ_MAX_DEPTH: z.coerce.number().int().min(0).default(100),

    SHUTDOWN_GRACE_MS: positiveInt.default(10000),
  })
  .superRefine((env, ctx) => {
    if (env.JWT_SECRET !== undefined && Buffer.byteLength(env.JWT_SECRET) < 32) {
      ctx.addIssue({ code: 'custom', path: ['JWT_SECRET'], message: 'must be at least 32 bytes' });
    }
    if ((env.ADMIN_EMAIL === undefined) !== (env.ADMIN_PASSWORD === undefined)) {
      ctx.addIssue({
        code: 'custom',
        path: [env.ADMIN_EMAIL === undefined ? 'ADMIN_EMAIL' : 'ADMIN_PASSWORD'],
        message: 'ADMIN_EMAIL and ADMIN_PASSWORD are set together or not at all',
      });
    }
    if (env.NODE_ENV === 'production') {
      for (const name of ['DATABASE_URL', 'AMQP_URL', 'JWT_SECRET'] as const) {
        if (env[name] === undefined) {
          ctx.addIssue({ code: 'custom', path: [name], message: 'is required when NODE_ENV=production' });
        }
      }
    }
  });

export type Environment = z.infer<typeof environmentSchema>;
