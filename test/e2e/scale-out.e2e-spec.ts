/** @requires-services PostgreSQL RabbitMQ Redis (see jest.config.js) */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { Redis } from 'ioredis';
import pg from 'pg';
import {
  allEntities,
  freePort,
  haproxyVersion,
  httpClient,
  isolatedEnvironment,
  poll,
  requireServices,
  SERVICE_URLS,
  serversUp,
  startApp,
  startHaproxy,
  type HttpResponse,
  type IsolatedEnvironment,
  type RunningApp,
} from '@emporium/testing';

/**
 * Several api replicas on one database and one Redis, as behind a load balancer: the catalog
 * cache of each replica is never wrong (invalidated by the projection's own transaction,
 * bypassed while its change feed is down), rate limits count across replicas, a Redis outage
 * fails open, and conditional GETs answer 304 without a body.
 */
describe('api replicas (scale-out)', () => {
  const ADMIN = { email: 'admin@example.com', password: 'staff-passphrase-for-tests' };
  const PER_ACCOUNT = 4;
  let environment: IsolatedEnvironment;
  let keyPrefix: string;
  let settings: Record<string, string>;
  let projector: RunningApp;
  let a: RunningApp;
  let b: RunningApp;
  let db: pg.Pool;
  let adminToken: string;
  const started: RunningApp[] = [];

  const via = (app: RunningApp) => httpClient(app.url);
  const after = (position: string): Record<string, string> => ({ 'x-min-position': position });

  let sku = 0;
  const createProduct = async (): Promise<{ id: string; position: string }> => {
    sku += 1;
    const created = await via(a)('POST', '/api/v1/products', {
      token: adminToken,
      body: {
        sku: `SCALE-${sku}-${randomBytes(3).toString('hex')}`,
        name: `Scaled ${sku}`,
        description: 'served by several replicas',
        category: 'general',
        priceCents: 1000,
        currency: 'EUR',
        stock: 10,
      },
    });
    expect(created.status).toBe(201);
    return created.body;
  };
  const changePrice = async (id: string, priceCents: number): Promise<string> => {
    const changed = await via(a)('PUT', `/api/v1/products/${id}/price`, { token: adminToken, body: { priceCents } });
    expect(changed.status).toBe(200);
    return changed.body.position;
  };
  const price = async (app: RunningApp, id: string): Promise<number> => {
    const response = await via(app)('GET', `/api/v1/products/${id}`);
    expect(response.status).toBe(200);
    return response.body.priceCents;
  };
  const metric = async (app: RunningApp, line: RegExp): Promise<number> => {
    const text = (await via(app)('GET', '/metrics')).body as string;
    return text
      .split('\n')
      .filter((l) => line.test(l))
      .reduce((sum, l) => sum + Number(l.split(' ').pop()), 0);
  };
  const cacheHits = (app: RunningApp): Promise<number> =>
    metric(app, /^emporium_cache_requests_total\{.*cache="product".*result="hit"/);
  const cacheState = async (app: RunningApp): Promise<string> =>
    (await via(app)('GET', '/health')).body?.details?.['catalog-cache']?.cache;

  beforeAll(async () => {
    await requireServices();
    environment = await isolatedEnvironment('scale_out', allEntities);
    keyPrefix = `t:scale:${randomBytes(4).toString('hex')}:`;
    settings = {
      ...environment.env,
      ADMIN_EMAIL: ADMIN.email,
      ADMIN_PASSWORD: ADMIN.password,
      DEMO_DATA: 'false',
      REDIS_URL: 'redis://127.0.0.1:6379',
      REDIS_KEY_PREFIX: keyPrefix,
      RATE_LIMIT_AUTH_PER_ACCOUNT: String(PER_ACCOUNT),
      // As in docker-compose.yml: readiness 503 this long before the server closes.
      SHUTDOWN_DRAIN_DELAY_MS: '3000',
    };
    projector = await startApp('projector', settings);
    a = await startApp('api', settings);
    b = await startApp('api', settings);
    started.push(a, b);
    db = new pg.Pool({ connectionString: environment.databaseUrl, max: 2 });
    const login = await via(a)('POST', '/api/v1/auth/login', { body: ADMIN });
    expect(login.status).toBe(200);
    adminToken = login.body.accessToken;
    // Both replicas listen for catalog changes before the tests rely on their caches.
    for (const app of [a, b]) {
      await poll(
        () => cacheState(app),
        (state) => state === 'active',
        { what: 'the catalog cache listening' },
      );
    }
    // Four processes start here (two more below): slow on a busy 2-core machine.
  }, 120_000);

  afterAll(async () => {
    await Promise.all(started.map((app) => app.stop()));
    await projector?.stop();
    await db?.end();
    await environment?.dispose();
    const redis = new Redis(SERVICE_URLS.redis);
    const keys = await redis.keys(`${keyPrefix}*`);
    if (keys.length) await redis.del(...keys);
    await redis.quit();
  });

  it('shows a price change through every replica, and it never reverts', async () => {
    const product = await createProduct();
    await via(a)('GET', `/api/v1/products/${product.id}`, { headers: after(product.position) });
    await via(b)('GET', `/api/v1/products/${product.id}`, { headers: after(product.position) });
    // Warm both caches: the old price is held by each replica.
    const hitsBefore = await cacheHits(b);
    for (let i = 0; i < 5; i++) {
      expect(await price(a, product.id)).toBe(1000);
      expect(await price(b, product.id)).toBe(1000);
    }
    expect(await cacheHits(b)).toBeGreaterThan(hitsBefore);

    const position = await changePrice(product.id, 1234);
    // Read-your-writes holds through the cache on either replica.
    expect((await via(b)('GET', `/api/v1/products/${product.id}`, { headers: after(position) })).body.priceCents).toBe(
      1234,
    );
    for (const app of [a, b]) {
      await poll(
        () => price(app, product.id),
        (p) => p === 1234,
        { what: 'the new price through a replica' },
      );
    }
    const seen = new Set<number>();
    for (let i = 0; i < 100; i++) seen.add(await price(i % 2 ? a : b, product.id));
    expect([...seen]).toEqual([1234]);
  });

  it('never serves a stale row from a replica whose change feed was cut, and caches again once it is back', async () => {
    const product = await createProduct();
    await via(b)('GET', `/api/v1/products/${product.id}`, { headers: after(product.position) });
    for (let i = 0; i < 3; i++) expect(await price(b, product.id)).toBe(1000);

    const { rowCount } = await db.query(
      'select pg_terminate_backend(pid) from pg_stat_activity where application_name = $1',
      [`emporium-catalog-cache:${hostname()}:${b.process.pid}`.slice(0, 63)],
    );
    expect(rowCount).toBe(1);
    const position = await changePrice(product.id, 2000);
    // Once the change is in the read model, replica b must not answer the cached 1000.
    await via(a)('GET', `/api/v1/products/${product.id}`, { headers: after(position) });
    for (let i = 0; i < 20; i++) expect(await price(b, product.id)).toBe(2000);

    // The feed reconnects by itself; then b caches again and still sees every change.
    await poll(
      () => cacheState(b),
      (state) => state === 'active',
      { what: 'the feed of replica b back' },
    );
    for (let i = 0; i < 3; i++) expect(await price(b, product.id)).toBe(2000);
    await changePrice(product.id, 2100);
    await poll(
      () => price(b, product.id),
      (p) => p === 2100,
      { what: 'the next change through replica b' },
    );
    for (let i = 0; i < 20; i++) expect(await price(b, product.id)).toBe(2100);
  });

  it('answers a conditional GET with 304 and no body, and gives a changed product a new ETag', async () => {
    const product = await createProduct();
    const first = await via(a)('GET', `/api/v1/products/${product.id}`, { headers: after(product.position) });
    const etag = first.headers.get('etag')!;
    expect(etag).toBe(`"p-${product.id}-v1"`);
    expect(first.headers.get('cache-control')).toBe('public, max-age=5, stale-while-revalidate=30');

    const rawNotModified = await fetch(`${b.url}/api/v1/products/${product.id}`, {
      headers: { 'if-none-match': etag },
    });
    expect(rawNotModified.status).toBe(304);
    expect(rawNotModified.headers.get('etag')).toBe(etag);
    expect(await rawNotModified.text()).toBe('');

    const position = await changePrice(product.id, 1500);
    const changed = await via(b)('GET', `/api/v1/products/${product.id}`, {
      headers: { ...after(position), 'if-none-match': etag },
    });
    expect(changed.status).toBe(200);
    expect(changed.body.priceCents).toBe(1500);
    expect(changed.headers.get('etag')).toBe(`"p-${product.id}-v2"`);

    // Orders: private to their customer, revalidated every time.
    await via(a)('POST', '/api/v1/auth/register', {
      body: { email: 'etag-customer@example.com', password: 'a-long-enough-password', name: 'Etag Customer' },
    });
    const login = await via(a)('POST', '/api/v1/auth/login', {
      body: { email: 'etag-customer@example.com', password: 'a-long-enough-password' },
    });
    const token = login.body.accessToken as string;
    const placed = await via(a)('POST', '/api/v1/orders', {
      token,
      body: { lines: [{ productId: product.id, quantity: 1 }] },
    });
    expect(placed.status).toBe(201);
    const order = await via(b)('GET', `/api/v1/orders/${placed.body.id}`, {
      token,
      headers: after(placed.body.position),
    });
    expect(order.headers.get('etag')).toBe(`"o-${placed.body.id}-v1"`);
    expect(order.headers.get('cache-control')).toBe('private, no-cache');
    const orderNotModified = await fetch(`${a.url}/api/v1/orders/${placed.body.id}`, {
      headers: { authorization: `Bearer ${token}`, 'if-none-match': `W/${order.headers.get('etag')!}` },
    });
    expect(orderNotModified.status).toBe(304);
    expect(await orderNotModified.text()).toBe('');
  });

  it('locks an account out after its limit, whichever replica the attempts reach', async () => {
    const attempt = (app: RunningApp): Promise<HttpResponse> =>
      via(app)('POST', '/api/v1/auth/login', {
        body: { email: 'locked-out@example.com', password: 'not-the-password-at-all' },
      });
    const statuses: number[] = [];
    for (let i = 0; i < PER_ACCOUNT; i++) statuses.push((await attempt(i % 2 ? b : a)).status);
    expect(statuses).toEqual(new Array(PER_ACCOUNT).fill(401));
    const overA = await attempt(a);
    const overB = await attempt(b);
    expect([overA.status, overB.status]).toEqual([429, 429]);
    expect(Number(overB.headers.get('retry-after'))).toBeGreaterThan(0);
  });

  describe('with a Redis of its own, stopped and started again', () => {
    const LIMIT = 8;
    const page = '/api/v1/products?limit=1';
    let redisPort: number;
    let redis: ChildProcess | undefined;
    let c: RunningApp;
    let d: RunningApp;

    const startRedis = async (): Promise<void> => {
      const child = spawn(
        'redis-server',
        ['--port', String(redisPort), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
        {
          stdio: 'ignore',
        },
      );
      redis = child;
      await poll(
        async () => {
          const probe = new Redis({ port: redisPort, lazyConnect: true, retryStrategy: () => null });
          try {
            await probe.connect();
            return await probe.ping();
          } finally {
            probe.disconnect();
          }
        },
        (pong) => pong === 'PONG',
        { what: 'the private redis-server' },
      );
    };
    const stopRedis = async (): Promise<void> => {
      const child = redis!;
      redis = undefined;
      if (child.exitCode !== null) return;
      child.kill('SIGKILL');
      await once(child, 'exit');
    };

    beforeAll(async () => {
      redisPort = await freePort();
      await startRedis();
      const own = { ...settings, REDIS_URL: `redis://127.0.0.1:${redisPort}`, RATE_LIMIT_DEFAULT: String(LIMIT) };
      c = await startApp('api', own);
      d = await startApp('api', own);
      started.push(c, d);
    }, 120_000);

    afterAll(async () => {
      if (redis) await stopRedis();
    });

    it('counts every replica against one limit; while Redis is down it allows, counts and reports it; then limits again', async () => {
      // The two replicas together allow LIMIT requests per window, not LIMIT each.
      const answers: number[] = [];
      for (let i = 0; i < 2 * LIMIT; i++) answers.push((await via(i % 2 ? d : c)('GET', page)).status);
      expect(answers).toEqual([...new Array(LIMIT).fill(200), ...new Array(LIMIT).fill(429)]);
      // Probes are never counted: a load balancer checking many replicas must not lock itself out.
      expect((await via(c)('GET', '/health/ready')).status).toBe(200);

      await stopRedis();
      const during: number[] = [];
      for (let i = 0; i < 2 * LIMIT; i++) {
        during.push((await via(i % 2 ? d : c)('GET', page)).status);
      }
      expect(during).toEqual(new Array(2 * LIMIT).fill(200));
      expect(await metric(c, /^emporium_rate_limit_store_errors_total /)).toBeGreaterThan(0);
      const health = await via(c)('GET', '/health');
      expect(health.body.details.redis).toMatchObject({ status: 'up', degraded: true, failOpen: true });
      expect((await via(c)('GET', '/health/ready')).status).toBe(200);

      await startRedis();
      // The replicas reconnect by themselves (requests are not counted until then), and the shared
      // limit holds again.
      for (const app of [c, d]) {
        const healthy = await poll(
          () => via(app)('GET', '/health'),
          (r) => r.body?.details?.redis?.degraded === undefined,
          { what: 'redis reported healthy again', intervalMs: 200, timeoutMs: 20_000 },
        );
        expect(healthy.body.details.redis).toEqual({ status: 'up', use: 'rate limits' });
      }
      let n = 0;
      await poll(
        () => via(n++ % 2 ? d : c)('GET', page).then((r) => r.status),
        (s) => s === 429,
        {
          what: 'a 429 once Redis is back',
        },
      );
      // The health reports above counted once Redis answered them (one per replica).
      expect(n).toBeLessThanOrEqual(LIMIT + 1);
    });
  });
  describe('behind HAProxy (deploy/haproxy/haproxy.cfg)', () => {
    it('takes a draining replica out of rotation before it closes: no request through the proxy fails', async () => {
      if (!haproxyVersion()) {
        // .ci/run installs it; a developer machine without it runs everything else.
        if (process.env.CI === 'true') throw new Error('haproxy is not installed (apt-get install -y haproxy)');
        return;
      }
      const product = await createProduct();
      await via(a)('GET', `/api/v1/products/${product.id}`, { headers: after(product.position) });
      const [proxyPort, statsPort] = [await freePort(), await freePort()];
      const portOf = (app: RunningApp): number => Number(new URL(app.url).port);
      const proxy = await startHaproxy([portOf(a), portOf(b)], proxyPort, statsPort);
      const statuses: number[] = [];
      const failures: string[] = [];
      let running = true;
      try {
        const client = async (): Promise<void> => {
          while (running) {
            try {
              const response = await fetch(`http://127.0.0.1:${proxyPort}/api/v1/products/${product.id}`);
              await response.arrayBuffer();
              statuses.push(response.status);
            } catch (error) {
              failures.push((error as Error).message);
            }
          }
        };
        const clients = Array.from({ length: 4 }, client);
        await poll(
          async () => statuses.length,
          (n) => n >= 50,
          { what: 'requests through HAProxy' },
        );
        const stopping = b.stop('SIGTERM');
        // Out of rotation within the drain delay, while b still answers.
        await poll(
          () => serversUp(statsPort),
          (up) => up.length === 1,
          { what: 'HAProxy taking b out', timeoutMs: 3000 },
        );
        expect(b.process.exitCode).toBeNull();
        await stopping; // (Nest re-raises SIGTERM once closed: no exit code)
        const served = statuses.length;
        await poll(
          async () => statuses.length,
          (n) => n >= served + 50,
          { what: 'requests after b stopped' },
        );
        running = false;
        await Promise.all(clients);
        expect(failures).toEqual([]);
        expect(statuses.filter((s) => s !== 200)).toEqual([]);
      } finally {
        running = false;
        proxy.kill('SIGTERM');
        await once(proxy, 'exit');
      }
    });
  });
});
