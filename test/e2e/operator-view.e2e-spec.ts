/** @requires-services PostgreSQL RabbitMQ (see jest.config.js) */
import {
  allEntities,
  httpClient,
  isolatedEnvironment,
  poll,
  requireServices,
  startApp,
  type IsolatedEnvironment,
  type RunningApp,
} from '@emporium/testing';
import {
  PROMETHEUS_SERIES,
  dashboardExpressions,
  metricNames,
  ruleExpressions,
} from '../architecture/observability-files.js';

/** The series names in a Prometheus text exposition. */
const seriesNames = (text: string): Set<string> =>
  new Set(
    text
      .split('\n')
      .filter((line) => line && !line.startsWith('#'))
      .map((line) => /^[a-zA-Z_:][a-zA-Z0-9_:]*/.exec(line)![0]),
  );

describe('the operator view reads what the apps export', () => {
  let env: IsolatedEnvironment;
  let api: RunningApp;
  let projector: RunningApp;
  const ADMIN = { email: 'admin@example.com', password: 'staff-passphrase-for-tests' };

  beforeAll(async () => {
    await requireServices();
    env = await isolatedEnvironment('opsview', allEntities);
    const appEnv = {
      ...env.env,
      ADMIN_EMAIL: ADMIN.email,
      ADMIN_PASSWORD: ADMIN.password,
      // Low enough that the test reaches it with three logins.
      RATE_LIMIT_AUTH_PER_ACCOUNT: '2',
    };
    [api, projector] = await Promise.all([startApp('api', appEnv), startApp('projector', appEnv)]);
  });

  afterAll(async () => {
    await api?.stop();
    await projector?.stop();
    await env?.dispose();
  });

  it('every metric a dashboard panel or an alert rule names is in /metrics of the api or the projector', async () => {
    // Traffic that makes every labelled series exist: a command, its deliveries, a rejected login.
    const http = httpClient(api.url);
    const admin = (await http('POST', '/api/v1/auth/login', { body: ADMIN })).body.accessToken as string;
    const product = await http('POST', '/api/v1/products', {
      token: admin,
      body: { sku: 'OPS-1', name: 'Watched', category: 'ops', priceCents: 100, currency: 'EUR', stock: 5 },
    });
    expect(product.status).toBe(201);
    // A product read twice: a cache miss, then a hit.
    for (let i = 0; i < 2; i++) {
      const read = await http('GET', `/api/v1/products/${product.body.id as string}`, {
        headers: { 'x-min-position': product.body.position as string },
      });
      expect(read.status).toBe(200);
    }
    const wrong = { email: 'nobody@example.com', password: 'not-the-password-at-all' };
    const statuses: number[] = [];
    for (let i = 0; i < 3; i++) statuses.push((await http('POST', '/api/v1/auth/login', { body: wrong })).status);
    expect(statuses).toEqual([401, 401, 429]);

    const scrape = async (app: RunningApp) => (await fetch(`${app.url}/metrics`)).text();
    // The projector exports its delivery series once it has applied the product's event.
    await poll(
      () => scrape(projector),
      (text) => /emporium_delivery_outcomes_total\{[^}]*outcome="ack"\} [1-9]/.test(text),
      { timeoutMs: 20_000, what: 'the projector to apply the event' },
    );
    // prom-client reads all metrics of a scrape in parallel, so emporium_metric_collection_failed
    // (set by the scrape-time gauges as they finish) shows the previous scrape's readings: as
    // Prometheus sees it from its second scrape on, read each app twice.
    await scrape(api);
    const [apiText, projectorText] = await Promise.all([scrape(api), scrape(projector)]);
    const exported = new Set([...seriesNames(apiText), ...seriesNames(projectorText)]);

    const named = [
      ...dashboardExpressions().map(({ panel, expr }) => ({ where: `panel "${panel}"`, expr })),
      ...ruleExpressions().map(({ rule, expr }) => ({ where: `rule ${rule}`, expr })),
    ].flatMap(({ where, expr }) => metricNames(expr).map((name) => ({ where, name })));
    expect(named.length).toBeGreaterThan(20);
    const missing = named
      .filter(({ name }) => !PROMETHEUS_SERIES.has(name) && !exported.has(name))
      .map(({ where, name }) => `${where}: ${name}`);
    expect(missing).toEqual([]);

    // The rejection is counted by the limit it exceeded and the route.
    expect(apiText).toMatch(
      /emporium_rate_limit_rejections_total\{limit="auth-account",route="\/api\/v1\/auth\/login"\} 1\n/,
    );
  });
});
