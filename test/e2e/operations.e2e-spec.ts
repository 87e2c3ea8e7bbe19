/** @requires-services PostgreSQL RabbitMQ (see jest.config.js) */
import { once } from 'node:events';
import {
  allEntities,
  compareWithRebuild,
  httpClient,
  isolatedEnvironment,
  poll,
  requireServices,
  runToExit,
  startApp,
  type IsolatedEnvironment,
  type RunningApp,
} from '@emporium/testing';

/** What an orchestrator relies on: honest probes and a shutdown that loses nothing. */
describe('operations', () => {
  let env: IsolatedEnvironment;
  const ADMIN = { email: 'admin@example.com', password: 'staff-passphrase-for-tests' };
  const appEnv = (): Record<string, string> => ({
    ...env.env,
    ADMIN_EMAIL: ADMIN.email,
    ADMIN_PASSWORD: ADMIN.password,
  });

  beforeAll(async () => {
    await requireServices();
    env = await isolatedEnvironment('ops', allEntities);
  });

  afterAll(async () => {
    await env?.dispose();
  });

  it('stops the migration job with a message naming DATABASE_URL when PostgreSQL is unreachable', async () => {
    const { code, output } = await runToExit('migrate', {
      ...env.env,
      DATABASE_URL: 'postgresql://app:hunter2-secret@127.0.0.1:1/x',
    });
    expect(code).toBe(69);
    expect(output).toMatch(/^DATABASE_URL: cannot reach PostgreSQL at postgresql:\/\/app:\*\*\*@127\.0\.0\.1:1\/x/m);
    expect(output).not.toContain('hunter2-secret');
  });

  it('stays live and accepts commands with the broker down, while /health reports it', async () => {
    const api = await startApp('api', { ...appEnv(), AMQP_URL: 'amqp://127.0.0.1:1', HEALTH_CHECK_TIMEOUT_MS: '500' });
    try {
      expect((await fetch(`${api.url}/health/live`)).status).toBe(200);
      expect((await fetch(`${api.url}/health/ready`)).status).toBe(200);
      const health = await fetch(`${api.url}/health`);
      expect(health.status).toBe(503);
      const report = (await health.json()) as { details: Record<string, { status: string }> };
      expect(report.details.broker.status).toBe('down');
      expect(report.details.database.status).toBe('up');
      const http = httpClient(api.url);
      const admin = (await http('POST', '/api/v1/auth/login', { body: ADMIN })).body.accessToken as string;
      const created = await http('POST', '/api/v1/products', {
        token: admin,
        body: { sku: 'NOBROKER-1', name: 'Held', category: 'ops', priceCents: 1, currency: 'EUR', stock: 1 },
      });
      expect(created.status).toBe(201); // the event waits in event_log for the broker
    } finally {
      await api.stop();
    }
  });

  it('turns readiness to 503 as soon as shutdown begins, stays live while draining, and exits cleanly', async () => {
    const api = await startApp('api', { ...appEnv(), SHUTDOWN_DRAIN_DELAY_MS: '1500' });
    const exited = once(api.process, 'exit');
    api.process.kill('SIGTERM');
    const ready = await poll(
      () => fetch(`${api.url}/health/ready`).then((r) => r.status),
      (s) => s === 503,
      {
        what: 'readiness to turn 503',
      },
    );
    expect(ready).toBe(503);
    expect((await fetch(`${api.url}/health/live`)).status).toBe(200);
    // Nest re-raises the signal once it has closed; our deadline would exit with 1 instead.
    const [code, signal] = (await exited) as [number | null, string | null];
    expect({ code, signal }).toEqual(code === 0 ? { code: 0, signal: null } : { code: null, signal: 'SIGTERM' });
  });

  it('loses no accepted request and no event when the api and projector are terminated and restarted under load', async () => {
    let api: RunningApp = await startApp('api', appEnv());
    let projector: RunningApp = await startApp('projector', appEnv());
    const admin = (await httpClient(api.url)('POST', '/api/v1/auth/login', { body: ADMIN })).body.accessToken as string;
    const product = await httpClient(api.url)('POST', '/api/v1/products', {
      token: admin,
      body: { sku: 'LOAD-1', name: 'Load', category: 'ops', priceCents: 100, currency: 'EUR', stock: 1_000_000 },
    });
    const register = await httpClient(api.url)('POST', '/api/v1/auth/register', {
      body: { email: 'load@example.com', password: 'plenty-long-passphrase', name: 'Load' },
    });
    expect(register.status).toBe(201);
    const token = (
      await httpClient(api.url)('POST', '/api/v1/auth/login', {
        body: { email: 'load@example.com', password: 'plenty-long-passphrase' },
      })
    ).body.accessToken as string;

    const accepted = new Map<string, string>(); // idempotency key -> order id
    const failures: string[] = [];
    let running = true;
    const worker = async (n: number): Promise<void> => {
      for (let i = 0; running; i++) {
        const key = `w${n}-${i}`;
        // Retry the same key until some api instance answers: a replay never creates a second order.
        for (;;) {
          try {
            const response = await httpClient(api.url)('POST', '/api/v1/orders', {
              token,
              body: { lines: [{ productId: product.body.id, quantity: 1 }] },
              headers: { 'idempotency-key': key },
            });
            if (response.status === 409 && response.body?.code === 'idempotency-key-in-progress') {
              await new Promise((resolve) => setTimeout(resolve, 50)); // the first attempt still runs: ask again
              continue;
            }
            if (response.status === 201) accepted.set(key, response.body.id as string);
            else failures.push(`${key}: ${response.status} ${JSON.stringify(response.body)}`);
            break;
          } catch {
            await new Promise((resolve) => setTimeout(resolve, 20)); // not accepted (no server): try again
          }
        }
      }
    };
    const workers = [0, 1, 2, 3].map(worker);
    const restart = async (which: 'api' | 'projector'): Promise<void> => {
      await poll(
        async () => accepted.size,
        (n) => n >= 10 + (which === 'api' ? 0 : 20),
        { what: 'load to build up' },
      );
      const old = which === 'api' ? api : projector;
      const code = await old.stop('SIGTERM');
      expect({ which, clean: code === 0 || code === null }).toEqual({ which, clean: true });
      if (which === 'api') api = await startApp('api', appEnv());
      else projector = await startApp('projector', appEnv());
    };
    await restart('api');
    await restart('projector');
    await poll(
      async () => accepted.size,
      (n) => n >= 60,
      { what: 'load after the restarts' },
    );
    running = false;
    await Promise.all(workers);

    expect(failures).toEqual([]);
    const report = await poll(
      () => compareWithRebuild(env.databaseUrl),
      (r) => r.missing.length === 0,
      {
        timeoutMs: 20_000,
        intervalMs: 250,
        what: 'the projections to catch up',
      },
    );
    expect(report.doubleApplied).toBe(0);
    expect(report.differences).toEqual({});
    const orders = await httpClient(api.url)('GET', '/api/v1/orders?limit=100', { token: admin });
    expect(orders.status).toBe(200);
    const list = await poll(
      async () => {
        const ids: string[] = [];
        let cursor: string | null = null;
        do {
          const page = await httpClient(api.url)(
            'GET',
            `/api/v1/orders?limit=100${cursor ? `&cursor=${cursor}` : ''}`,
            { token },
          );
          ids.push(...(page.body.items as Array<{ id: string }>).map((o) => o.id));
          cursor = page.body.nextCursor as string | null;
        } while (cursor);
        return ids;
      },
      (ids) => ids.length === accepted.size,
      { what: 'every accepted order in the read model' },
    );
    expect(new Set(list)).toEqual(new Set(accepted.values()));
    await api.stop();
    await projector.stop();
  });
});
