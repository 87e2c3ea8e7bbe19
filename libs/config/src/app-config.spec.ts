import { AppConfig, ConfigError, requireAmqpUrl, requireDatabaseUrl } from './app-config.js';

const problems = (env: Record<string, string>): string[] => {
  try {
    AppConfig.fromEnvironment(env);
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  return [];
};

describe('AppConfig', () => {
  it('starts on development defaults and warns about the ephemeral JWT key', () => {
    const config = AppConfig.fromEnvironment({});
    expect(config.port).toBe(3000);
    expect(config.projectorPort).toBe(3001);
    expect(config.jwt.ephemeral).toBe(true);
    expect(config.warnings.join()).toMatch(/ephemeral HS256 key/);
  });

  it('runs on the embedded database and the in-process transport when no service is set', () => {
    const config = AppConfig.fromEnvironment({});
    expect(config.database).toMatchObject({ url: undefined, dataDir: '.data', embeddedPort: 0 });
    expect(config.amqp.url).toBeUndefined();
    expect(config.demoData).toBe(true);
    expect(() => requireDatabaseUrl(config, 'the api')).toThrow(
      /DATABASE_URL: is required by the api; only `npm start`/,
    );
    expect(() => requireAmqpUrl(config, 'the relay')).toThrow(/AMQP_URL: is required by the relay/);
    const started = config.withEmbeddedDatabase('postgresql://postgres@127.0.0.1:5999/postgres');
    expect(requireDatabaseUrl(started, 'the api')).toBe('postgresql://postgres@127.0.0.1:5999/postgres');
    expect(started.port).toBe(config.port);
    // A real database gets no demo data unless asked.
    expect(AppConfig.fromEnvironment({ DATABASE_URL: 'postgresql://db/shop' }).demoData).toBe(false);
    expect(AppConfig.fromEnvironment({ DATABASE_URL: 'postgresql://db/shop', DEMO_DATA: 'true' }).demoData).toBe(true);
  });

  it('reads the order payment timeout as a duration people write, or off', () => {
    expect(AppConfig.fromEnvironment({}).orders.paymentTimeoutMs).toBe(30 * 60_000);
    expect(AppConfig.fromEnvironment({ ORDER_PAYMENT_TIMEOUT: '90s' }).orders.paymentTimeoutMs).toBe(90_000);
    expect(AppConfig.fromEnvironment({ ORDER_PAYMENT_TIMEOUT: '1500ms' }).orders.paymentTimeoutMs).toBe(1500);
    expect(AppConfig.fromEnvironment({ ORDER_PAYMENT_TIMEOUT: '2h' }).orders.paymentTimeoutMs).toBe(7_200_000);
    expect(AppConfig.fromEnvironment({ ORDER_PAYMENT_TIMEOUT: 'off' }).orders.paymentTimeoutMs).toBeUndefined();
    expect(problems({ ORDER_PAYMENT_TIMEOUT: '30' })).toEqual([expect.stringMatching(/^ORDER_PAYMENT_TIMEOUT: .*30m/)]);
    expect(problems({ ORDER_PAYMENT_TIMEOUT: '0s' })).toEqual([expect.stringMatching(/^ORDER_PAYMENT_TIMEOUT: /)]);
  });

  it('names each malformed variable and what was wrong', () => {
    const found = problems({ PORT: 'eighty', DATABASE_URL: 'mysql://x', AMQP_PREFETCH: '0' });
    expect(found).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^PORT: .*"eighty"/),
        expect.stringMatching(/^DATABASE_URL:/),
        expect.stringMatching(/^AMQP_PREFETCH:/),
      ]),
    );
  });

  it('requires the secrets and service URLs in production, never defaulting them', () => {
    const found = problems({ NODE_ENV: 'production' });
    expect(found).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^DATABASE_URL: is required/),
        expect.stringMatching(/^AMQP_URL: is required/),
        expect.stringMatching(/^JWT_SECRET: is required/),
      ]),
    );
  });

  it('refuses a short JWT secret without echoing it', () => {
    const [problem] = problems({ JWT_SECRET: 'short-secret' });
    expect(problem).toMatch(/^JWT_SECRET: must be at least 32 bytes$/);
  });

  it('wants the admin email and password together', () => {
    expect(problems({ ADMIN_EMAIL: 'a@example.com' })).toEqual([expect.stringMatching(/^ADMIN_PASSWORD:/)]);
  });

  it('reads the webhook retry schedule as durations and names a malformed one', () => {
    expect(AppConfig.fromEnvironment({}).webhooks).toEqual({
      retryScheduleMs: [5000, 30_000, 120_000, 900_000, 3_600_000, 21_600_000],
      timeoutMs: 10_000,
      disableAfterMs: 86_400_000,
      allowPrivateNetworks: false,
    });
    expect(AppConfig.fromEnvironment({ WEBHOOK_RETRY_SCHEDULE: '100ms, 2s,1m' }).webhooks.retryScheduleMs).toEqual([
      100, 2000, 60_000,
    ]);
    expect(problems({ WEBHOOK_RETRY_SCHEDULE: '5s,soon,0s' })).toEqual([
      expect.stringMatching(/^WEBHOOK_RETRY_SCHEDULE: expected a comma-separated list .*not a duration: "soon", "0s"/),
    ]);
    expect(problems({ WEBHOOK_DISABLE_AFTER: '24' })).toEqual([expect.stringMatching(/^WEBHOOK_DISABLE_AFTER: /)]);
  });
});
