/** @requires-services PostgreSQL RabbitMQ (see jest.config.js) */
import pg from 'pg';
import {
  httpClient,
  poll,
  requireServices,
  runToExit,
  startSystem,
  WebhookReceiver,
  type SystemMode,
  type SystemUnderTest,
} from '@emporium/testing';

const ADMIN = { email: 'admin@example.com', password: 'staff-passphrase-for-tests' };
const TYPES = ['catalog.product.created', 'catalog.product.price-changed'];

/**
 * Outgoing webhooks in both modes: the receivers are real HTTP servers in this test, on loopback
 * (so the system runs with WEBHOOK_ALLOW_PRIVATE_NETWORKS=true), and each verifies every
 * signature with its endpoint's secret.
 */
describe.each<SystemMode>(['embedded', 'distributed'])('webhooks (%s)', (mode) => {
  let system: SystemUnderTest;
  let db: pg.Pool;
  let http: ReturnType<typeof httpClient>;
  let adminToken: string;
  const receivers: WebhookReceiver[] = [];

  const receiver = async (behaviour?: ConstructorParameters<typeof WebhookReceiver>[0]): Promise<WebhookReceiver> => {
    const started = await new WebhookReceiver(behaviour).start();
    receivers.push(started);
    return started;
  };
  const register = async (target: WebhookReceiver, eventTypes = TYPES): Promise<string> => {
    const created = await http('POST', '/api/v1/webhooks', {
      token: adminToken,
      body: { url: target.url, eventTypes },
    });
    expect(created.status).toBe(201);
    target.secret = created.body.secret;
    return created.body.id;
  };
  let sku = 0;
  const createProduct = async (): Promise<string> => {
    sku += 1;
    const response = await http('POST', '/api/v1/products', {
      token: adminToken,
      body: {
        sku: `WH-${sku}-${crypto.randomUUID().slice(0, 6)}`,
        name: `Hooked ${sku}`,
        description: 'A product whose events go to webhooks',
        category: 'general',
        priceCents: 1000,
        currency: 'EUR',
        stock: 5,
      },
    });
    expect(response.status).toBe(201);
    return response.body.id;
  };
  /** The event ids of these products' creation, in position order. */
  const creationEvents = async (productIds: string[]): Promise<string[]> =>
    (
      await db.query<{ id: string }>(
        `select id from event_log where type = 'catalog.product.created' and aggregate_id = any($1::uuid[]) order by position`,
        [productIds],
      )
    ).rows.map((r) => r.id);
  const cli = (...args: string[]): Promise<{ code: number | null; output: string }> =>
    runToExit('cli', { ...system.env, DATABASE_URL: system.databaseUrl, LOG_LEVEL: 'warn' }, args);
  const lastJsonLine = (output: string): unknown => JSON.parse(output.trim().split('\n').pop()!);

  beforeAll(async () => {
    if (mode === 'distributed') await requireServices();
    system = await startSystem(mode, `webhooks_${mode}`, {
      ADMIN_EMAIL: ADMIN.email,
      ADMIN_PASSWORD: ADMIN.password,
      DEMO_DATA: 'false',
      WEBHOOK_ALLOW_PRIVATE_NETWORKS: 'true',
      WEBHOOK_RETRY_SCHEDULE: '100ms,200ms',
      WEBHOOK_TIMEOUT: '500ms',
    });
    db = new pg.Pool({ connectionString: system.databaseUrl, max: 2 });
    http = httpClient(system.apiUrl);
    const login = await http('POST', '/api/v1/auth/login', { body: ADMIN });
    expect(login.status).toBe(200);
    adminToken = login.body.accessToken;
  }, 240_000);

  afterAll(async () => {
    await Promise.all(receivers.map((r) => r.stop()));
    await db?.end();
    await system?.stop();
  });

  it('registers endpoints for admins only, says what is wrong with a bad one, and never shows a secret again', async () => {
    const target = await receiver();
    const created = await http('POST', '/api/v1/webhooks', {
      token: adminToken,
      body: { url: target.url, eventTypes: ['ordering.order.placed'] },
    });
    expect(created.status).toBe(201);
    expect(created.body).toEqual({
      id: expect.any(String),
      url: target.url,
      eventTypes: ['ordering.order.placed'],
      secret: expect.stringMatching(/^whsec_[A-Za-z0-9+/]{32}$/),
    });
    const listed = await http('GET', '/api/v1/webhooks', { token: adminToken });
    expect(listed.status).toBe(200);
    expect(listed.body.items).toContainEqual(
      expect.objectContaining({ id: created.body.id, url: target.url, status: 'enabled' }),
    );
    expect(JSON.stringify(listed.body)).not.toContain(created.body.secret);

    const problem = async (body: unknown, status: number, code: unknown, detail: RegExp): Promise<void> => {
      const response = await http('POST', '/api/v1/webhooks', { token: adminToken, body });
      expect({ status: response.status, type: response.headers.get('content-type') }).toEqual({
        status,
        type: expect.stringContaining('application/problem+json'),
      });
      expect(response.body).toMatchObject({ code, detail: expect.stringMatching(detail) });
    };
    await problem(
      { url: target.url, eventTypes: ['ordering.order.placed', 'order.exploded'] },
      400,
      'unknown-event-types',
      /order\.exploded/,
    );
    await problem({ url: 'not a url', eventTypes: TYPES }, 400, 'invalid-webhook-url', /absolute URL/);
    await problem({ url: 'ftp://example.com/x', eventTypes: TYPES }, 400, 'invalid-webhook-url', /http or https/);
    await problem({ url: target.url, eventTypes: [] }, 400, expect.any(String), /eventTypes/);

    const customer = `c-${crypto.randomUUID()}@example.com`;
    await http('POST', '/api/v1/auth/register', {
      body: { email: customer, password: 'a long customer passphrase', name: 'C' },
    });
    const token = (
      await http('POST', '/api/v1/auth/login', { body: { email: customer, password: 'a long customer passphrase' } })
    ).body.accessToken;
    expect((await http('GET', '/api/v1/webhooks', { token })).status).toBe(403);
    expect(
      (await http('POST', '/api/v1/webhooks', { token, body: { url: target.url, eventTypes: TYPES } })).status,
    ).toBe(403);

    expect((await http('DELETE', `/api/v1/webhooks/${created.body.id}`, { token: adminToken })).status).toBe(204);
    expect((await http('GET', `/api/v1/webhooks/${created.body.id}/deliveries`, { token: adminToken })).status).toBe(
      404,
    );
    expect((await http('DELETE', `/api/v1/webhooks/${created.body.id}`, { token: adminToken })).status).toBe(404);
  });

  it('delivers each event signed, in position order, once per endpoint after 500s and timeouts, while a failing endpoint waits on its own', async () => {
    const healthy = await receiver();
    // Each event: a 500, then no answer (the 500 ms timeout), then 200.
    const flaky = await receiver((attempt) => (attempt === 1 ? 500 : attempt === 2 ? 'hang' : 200));
    // Never answers: every attempt times out, and its events end up dead.
    const down = await receiver(() => 'hang');
    const [, , downId] = [await register(healthy), await register(flaky), await register(down)];

    const products: string[] = [];
    for (let i = 0; i < 5; i++) products.push(await createProduct());
    const events = await creationEvents(products);

    const got = await poll(
      async () => healthy.delivered().filter((r) => r.body.type === 'catalog.product.created'),
      (list) => list.length === 5,
      { what: 'the healthy endpoint to get five events', timeoutMs: 20_000 },
    );
    // The failing endpoint has not got through its first events yet: it held up nobody else.
    const downDeliveries = await http('GET', `/api/v1/webhooks/${downId}/deliveries`, { token: adminToken });
    expect(downDeliveries.body.items.filter((d: { status: string }) => d.status === 'pending').length).toBeGreaterThan(
      0,
    );

    expect(got.map((r) => r.webhookId)).toEqual(events);
    expect(got.map((r) => r.body.id)).toEqual(events);
    expect(got[0].body).toEqual({
      id: events[0],
      type: 'catalog.product.created',
      occurredAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
      data: expect.objectContaining({ name: expect.stringMatching(/^Hooked/), priceCents: 1000 }),
    });

    const recovered = await poll(
      async () => flaky.delivered().filter((r) => r.body.type === 'catalog.product.created'),
      (list) => list.length === 5,
      { what: 'the flaky endpoint to get five events', timeoutMs: 30_000 },
    );
    expect(recovered.map((r) => r.webhookId)).toEqual(events);
    const flakyEvents = flaky.received.filter((r) => events.includes(r.webhookId));
    // Three attempts each (500, timeout, 200), with the same webhook-id and body every time.
    expect(flakyEvents.length).toBe(15);
    for (const id of events) {
      const attempts = flakyEvents.filter((r) => r.webhookId === id);
      expect(attempts.map((r) => r.answer)).toEqual([500, 'hang', 200]);
      expect(new Set(attempts.map((r) => JSON.stringify(r.body))).size).toBe(1);
    }
    // In order: an event's retries all come before the next event's first attempt.
    expect([...new Set(flakyEvents.map((r) => r.webhookId))]).toEqual(events);
    for (const r of [...healthy.received, ...flaky.received, ...down.received]) expect(r.verified).toBe(true);

    const deliveries = await http('GET', `/api/v1/webhooks/${downId}/deliveries`, { token: adminToken });
    expect(deliveries.status).toBe(200);
    expect(deliveries.body.items[0]).toEqual(
      expect.objectContaining({
        eventId: expect.any(String),
        type: 'catalog.product.created',
        attempts: expect.any(Number),
        status: expect.stringMatching(/^(pending|dead)$/),
      }),
    );

    // The endpoint that never answers: three attempts per event (100ms,200ms), then dead.
    const dead = await poll(
      async () =>
        (await http('GET', `/api/v1/webhooks/${downId}/deliveries`, { token: adminToken })).body.items as Array<{
          eventId: string;
          status: string;
          attempts: number;
          lastError: string;
          nextAttemptAt: string | null;
        }>,
      (items) => items.length === 5 && items.every((d) => d.status === 'dead'),
      { what: 'every delivery to the endpoint that never answers to be dead', timeoutMs: 45_000, intervalMs: 200 },
    );
    for (const d of dead) {
      expect(d).toMatchObject({
        attempts: 3,
        lastError: expect.stringMatching(/no answer within 500 ms/),
        nextAttemptAt: null,
      });
    }
    const listed = await cli('webhooks', 'dead', downId, '--json');
    expect(listed.code).toBe(0);
    expect((lastJsonLine(listed.output) as Array<{ eventId: string }>).map((d) => d.eventId)).toEqual(events);

    // Fixed, and replayed with the operations CLI: every event arrives, in order.
    down.behaviour = () => 200;
    const replayed = await cli('webhooks', 'replay', downId, '--all');
    expect(replayed.output).toContain('replayed 5');
    const redelivered = await poll(
      async () => down.delivered(),
      (list) => list.length === 5,
      { what: 'the replayed events at the repaired endpoint', timeoutMs: 20_000 },
    );
    expect(redelivered.map((r) => r.webhookId)).toEqual(events);
    expect(redelivered.every((r) => r.verified)).toBe(true);
  }, 150_000);

  it('disables an endpoint that keeps failing for the configured time, visibly', async () => {
    const broken = await receiver(() => 500);
    const id = await register(broken, ['catalog.product.price-changed']);
    const product = await createProduct();
    const change = (priceCents: number) =>
      http('PUT', `/api/v1/products/${product}/price`, { token: adminToken, body: { priceCents } });
    expect((await change(1200)).status).toBe(200);
    await poll(
      async () =>
        (await db.query('select failing_since from webhook_endpoints where id = $1', [id])).rows[0]?.failing_since,
      (since) => since !== null && since !== undefined,
      { what: 'the endpoint to start failing' },
    );
    // As if it had failed for a day (WEBHOOK_DISABLE_AFTER, 24h by default): its next failure disables it.
    await db.query(`update webhook_endpoints set failing_since = now() - interval '25 hours' where id = $1`, [id]);
    expect((await change(1300)).status).toBe(200);
    const listed = await poll(
      async () =>
        (
          (await http('GET', '/api/v1/webhooks', { token: adminToken })).body.items as Array<{
            id: string;
            status: string;
          }>
        ).find((w) => w.id === id),
      (w) => w?.status === 'disabled',
      { what: 'the endpoint to be disabled', timeoutMs: 20_000 },
    );
    expect(listed).toMatchObject({
      status: 'disabled',
      disabledAt: expect.any(String),
      disabledReason: expect.stringMatching(/500/),
    });
    const health = (await (await fetch(`${system.projectorUrl}/health`)).json()) as {
      details: Record<string, unknown>;
    };
    expect(health.details.webhooks).toMatchObject({
      status: 'up',
      disabledEndpoints: expect.arrayContaining([expect.objectContaining({ id })]),
    });
    // The embedded process serves its one registry on the api port; the projector serves its own.
    const metricsUrl = `${system.mode === 'embedded' ? system.apiUrl : system.projectorUrl}/metrics`;
    const metrics = await (await fetch(metricsUrl)).text();
    expect(metrics).toMatch(/^emporium_webhook_endpoints_disabled [1-9]/m);
    expect(metrics).toMatch(/^emporium_webhook_deliveries_total\{outcome="failed"\} [1-9]/m);
    expect(metrics).toMatch(/^emporium_webhook_deliveries_pending \d+/m);

    // Events after it was disabled are not kept for it; the CLI enables it again.
    const later = (await change(1400)).body.position as string;
    await poll(
      async () =>
        (
          await db.query(
            `select 1 from projection_inbox i join event_log e on e.id = i.event_id
              where i.projection = 'webhooks' and e.position = $1`,
            [later],
          )
        ).rowCount,
      (n) => n === 1,
      { what: 'the fan-out of the change made while disabled' },
    );
    const kept = await db.query(
      'select 1 from webhook_deliveries d join event_log e on e.id = d.event_id where d.endpoint_id = $1 and e.position = $2',
      [id, later],
    );
    expect(kept.rowCount).toBe(0);
    const enabled = await cli('webhooks', 'enable', id);
    expect(enabled.output).toContain(`enabled webhook ${id}`);
    expect((await http('GET', '/api/v1/webhooks', { token: adminToken })).body.items).toContainEqual(
      expect.objectContaining({ id, status: 'enabled' }),
    );
  }, 60_000);
});
