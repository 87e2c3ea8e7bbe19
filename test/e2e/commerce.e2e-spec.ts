import { readFile } from 'node:fs/promises';
import { connect, type Channel, type ChannelModel, type ConsumeMessage } from 'amqplib';
import pg from 'pg';
import {
  allEntities,
  compareWithRebuild,
  httpClient,
  isolatedEnvironment,
  poll,
  requireServices,
  runToExit,
  SERVICE_URLS,
  startApp,
  type HttpResponse,
  type IsolatedEnvironment,
  type RunningApp,
} from '@emporium/testing';

/**
 * The whole system as clients see it: `apps/api` and `apps/projector` run as real processes on
 * the real PostgreSQL and RabbitMQ; everything is driven over HTTP (and a plain AMQP client).
 */
describe('Emporium end to end', () => {
  let env: IsolatedEnvironment;
  let api: RunningApp;
  let projector: RunningApp;
  let http: ReturnType<typeof httpClient>;
  let amqp: ChannelModel;
  let channel: Channel;
  let db: pg.Pool;
  const tapped: ConsumeMessage[] = [];
  let adminToken: string;
  const ADMIN = { email: 'admin@example.com', password: 'staff-passphrase-for-tests' };

  const appEnv = (): Record<string, string> => ({
    ...env.env,
    ADMIN_EMAIL: ADMIN.email,
    ADMIN_PASSWORD: ADMIN.password,
    READ_YOUR_WRITES_TIMEOUT_MS: '1500',
  });

  const expectProblem = (response: HttpResponse, status: number, code?: string): void => {
    expect({ status: response.status, contentType: response.headers.get('content-type') }).toEqual({
      status,
      contentType: expect.stringContaining('application/problem+json'),
    });
    expect(response.body).toMatchObject({
      status,
      type: expect.any(String),
      title: expect.any(String),
      detail: expect.any(String),
    });
    if (code) expect(response.body.code).toBe(code);
    expect(JSON.stringify(response.body)).not.toMatch(/at .*\.(js|ts):\d+|select |insert /i);
  };

  const eventCount = async (): Promise<number> =>
    Number((await db.query('select count(*) as n from event_log')).rows[0].n);

  let customerSeq = 0;
  const newCustomer = async (): Promise<{ id: string; token: string; email: string }> => {
    customerSeq += 1;
    const email = `customer${customerSeq}-${crypto.randomUUID().slice(0, 6)}@example.com`;
    const password = 'a-long-enough-password';
    const registered = await http('POST', '/api/v1/auth/register', {
      body: { email, password, name: `Customer ${customerSeq}` },
    });
    expect(registered.status).toBe(201);
    const login = await http('POST', '/api/v1/auth/login', { body: { email, password } });
    expect(login.status).toBe(200);
    return { id: registered.body.id, token: login.body.accessToken, email };
  };

  let skuSeq = 0;
  const createProduct = async (
    fields: Record<string, unknown> = {},
  ): Promise<{ id: string; position: string; version: number }> => {
    skuSeq += 1;
    const response = await http('POST', '/api/v1/products', {
      token: adminToken,
      body: {
        sku: `E2E-${skuSeq}-${crypto.randomUUID().slice(0, 6)}`,
        name: `Product ${skuSeq}`,
        description: 'An end-to-end product',
        category: 'general',
        priceCents: 1000,
        currency: 'EUR',
        stock: 10,
        ...fields,
      },
    });
    expect(response.status).toBe(201);
    return response.body;
  };

  const placeOrder = (
    token: string,
    lines: Array<{ productId: string; quantity: number }>,
    headers: Record<string, string> = {},
  ) => http('POST', '/api/v1/orders', { token, body: { lines }, headers });

  /** Read-your-writes: the query waits until the command at `position` is in the read model. */
  const after = (position: string): Record<string, string> => ({ 'x-min-position': position });

  beforeAll(async () => {
    await requireServices();
    env = await isolatedEnvironment('e2e', allEntities);
    db = new pg.Pool({ connectionString: env.databaseUrl, max: 2 });
    amqp = await connect(SERVICE_URLS.amqp);
    channel = await amqp.createChannel();
    // A plain AMQP consumer, knowing nothing of Nest, bound to every event.
    await channel.assertExchange(env.exchange, 'topic', { durable: true });
    const { queue } = await channel.assertQueue('', { exclusive: true });
    await channel.bindQueue(queue, env.exchange, '#');
    await channel.consume(queue, (m) => m && tapped.push(m), { noAck: true });

    [api, projector] = await Promise.all([startApp('api', appEnv()), startApp('projector', appEnv())]);
    http = httpClient(api.url);
    const login = await http('POST', '/api/v1/auth/login', { body: ADMIN });
    expect(login.status).toBe(200);
    adminToken = login.body.accessToken;
  });

  afterAll(async () => {
    await api?.stop();
    await projector?.stop();
    await amqp?.close();
    await db?.end();
    await env?.dispose();
  });

  describe('identity', () => {
    it('registers, logs in and tells a customer who they are', async () => {
      const customer = await newCustomer();
      const me = await http('GET', '/api/v1/auth/me', { token: customer.token });
      expect(me.status).toBe(200);
      expect(me.body).toEqual({
        id: customer.id,
        email: customer.email,
        name: expect.any(String),
        roles: ['customer'],
      });
      expect(JSON.stringify(me.body)).not.toMatch(/hash|salt|password/i);
    });

    it('refuses a taken email with 409 and answers a wrong password like an unknown email', async () => {
      const customer = await newCustomer();
      const again = await http('POST', '/api/v1/auth/register', {
        body: { email: customer.email.toUpperCase(), password: 'another-long-password', name: 'X' },
      });
      expectProblem(again, 409, 'email-taken');
      const wrong = await http('POST', '/api/v1/auth/login', {
        body: { email: customer.email, password: 'not-the-password' },
      });
      const unknown = await http('POST', '/api/v1/auth/login', {
        body: { email: 'nobody@example.com', password: 'not-the-password' },
      });
      expectProblem(wrong, 401, 'invalid-credentials');
      expect({ ...unknown.body, instance: undefined }).toEqual({ ...wrong.body, instance: undefined });
    });

    it('needs a token for protected routes', async () => {
      expectProblem(await http('GET', '/api/v1/auth/me'), 401);
      expectProblem(await http('GET', '/api/v1/auth/me', { token: 'not.a.jwt' }), 401);
    });
  });

  describe('catalog', () => {
    it('lets only an admin create products, and serves them filtered, searched and paged', async () => {
      const customer = await newCustomer();
      expectProblem(
        await http('POST', '/api/v1/products', {
          token: customer.token,
          body: { sku: 'NOPE-1', name: 'x', category: 'general', priceCents: 1, currency: 'EUR', stock: 1 },
        }),
        403,
      );
      const category = `cat-${crypto.randomUUID().slice(0, 8)}`;
      await createProduct({ category, name: 'Walnut chopping board', priceCents: 4500 });
      await createProduct({ category, name: 'Steel chef knife', priceCents: 8900, stock: 0 });
      const last = await createProduct({ category, name: 'Linen apron', priceCents: 2500 });

      const inRange = await http(
        'GET',
        `/api/v1/products?category=${category}&minPrice=2000&maxPrice=5000&sort=price_asc`,
        {
          headers: after(last.position),
        },
      );
      expect(inRange.status).toBe(200);
      expect(inRange.body.items.map((p: { name: string }) => p.name)).toEqual(['Linen apron', 'Walnut chopping board']);

      const searched = await http('GET', `/api/v1/products?category=${category}&q=chef%20knife`);
      expect(searched.body.items.map((p: { name: string }) => p.name)).toEqual(['Steel chef knife']);

      const inStock = await http('GET', `/api/v1/products?category=${category}&inStock=true`);
      expect(inStock.body.items).toHaveLength(2);

      const page1 = await http('GET', `/api/v1/products?category=${category}&sort=price_desc&limit=2`);
      expect(page1.body.items).toHaveLength(2);
      expect(page1.body.nextCursor).toEqual(expect.any(String));
      const page2 = await http(
        'GET',
        `/api/v1/products?category=${category}&sort=price_desc&limit=2&cursor=${page1.body.nextCursor}`,
      );
      expect(page2.body).toEqual({ items: [expect.objectContaining({ name: 'Linen apron' })], nextCursor: null });

      expectProblem(
        await http('GET', `/api/v1/products?sort=name&cursor=${page1.body.nextCursor}`),
        400,
        'invalid-cursor',
      );
      expectProblem(await http('GET', '/api/v1/products?limit=101'), 400, 'validation-failed');
    });

    it('honours If-Match: a stale version is 412 and changes nothing', async () => {
      const product = await createProduct({ priceCents: 100 });
      const renamed = await http('PATCH', `/api/v1/products/${product.id}`, {
        token: adminToken,
        body: { name: 'Renamed' },
        headers: { 'if-match': `"${product.version}"` },
      });
      expect(renamed.status).toBe(200);
      expect(renamed.body.version).toBe(product.version + 1);
      const before = await eventCount();
      const stale = await http('PUT', `/api/v1/products/${product.id}/price`, {
        token: adminToken,
        body: { priceCents: 200 },
        headers: { 'if-match': `"${product.version}"` },
      });
      expectProblem(stale, 412, 'stale-version');
      expect(await eventCount()).toBe(before);
      const shown = await http('GET', `/api/v1/products/${product.id}`, { headers: after(renamed.body.position) });
      expect(shown.body).toMatchObject({ name: 'Renamed', priceCents: 100, version: 2 });
    });

    it('restocks and discontinues; a discontinued product cannot be ordered', async () => {
      const product = await createProduct({ stock: 1 });
      const restocked = await http('POST', `/api/v1/products/${product.id}/restock`, {
        token: adminToken,
        body: { quantity: 4 },
      });
      expect(restocked.status).toBe(200);
      const shown = await http('GET', `/api/v1/products/${product.id}`, { headers: after(restocked.body.position) });
      expect(shown.body.stock).toBe(5);
      const discontinued = await http('POST', `/api/v1/products/${product.id}/discontinue`, { token: adminToken });
      expect(discontinued.status).toBe(200);
      expectProblem(
        await http('POST', `/api/v1/products/${product.id}/discontinue`, { token: adminToken }),
        409,
        'product-discontinued',
      );
      const customer = await newCustomer();
      const order = await placeOrder(customer.token, [{ productId: product.id, quantity: 1 }]);
      expectProblem(order, 422, 'products-unavailable');
      expect(order.body.discontinuedProducts).toEqual([product.id]);
    });
  });

  describe('ordering', () => {
    it('gives exactly 3 of 8 concurrent orders for the last 3 units, and 409 naming the product to the rest', async () => {
      const product = await createProduct({ stock: 3 });
      const customers = await Promise.all(Array.from({ length: 8 }, () => newCustomer()));
      const results = await Promise.all(
        customers.map((c) => placeOrder(c.token, [{ productId: product.id, quantity: 1 }])),
      );
      const statuses = results.map((r) => r.status).sort();
      expect(statuses).toEqual([201, 201, 201, 409, 409, 409, 409, 409]);
      for (const refused of results.filter((r) => r.status === 409)) {
        expectProblem(refused, 409, 'out-of-stock');
        expect(refused.body.products).toEqual([{ productId: product.id, requested: 1, available: 0 }]);
      }
      const last = results
        .filter((r) => r.status === 201)
        .map((r) => r.body.position)
        .sort((a, b) => Number(a) - Number(b))
        .at(-1);
      await poll(
        () => http('GET', `/api/v1/products/${product.id}`, { headers: after(last) }).then((r) => r.body.stock),
        (stock) => stock === 0,
        { what: 'the catalog to show no stock left' },
      );
    });

    it('reserves all lines or none, and rejects unknown products with 422', async () => {
      const plenty = await createProduct({ stock: 5 });
      const scarce = await createProduct({ stock: 1 });
      const customer = await newCustomer();
      const before = await eventCount();
      const refused = await placeOrder(customer.token, [
        { productId: plenty.id, quantity: 2 },
        { productId: scarce.id, quantity: 2 },
      ]);
      expectProblem(refused, 409, 'out-of-stock');
      expect(refused.body.products).toEqual([{ productId: scarce.id, requested: 2, available: 1 }]);
      const unknownId = crypto.randomUUID();
      const unknown = await placeOrder(customer.token, [{ productId: unknownId, quantity: 1 }]);
      expectProblem(unknown, 422, 'products-unavailable');
      expect(unknown.body.unknownProducts).toEqual([unknownId]);
      expect(await eventCount()).toBe(before);
    });

    it('follows the life cycle: ship only after pay, no cancel after ship, cancel releases stock', async () => {
      const product = await createProduct({ stock: 10, priceCents: 1500 });
      const customer = await newCustomer();
      const placed = await placeOrder(customer.token, [{ productId: product.id, quantity: 4 }]);
      expect(placed.status).toBe(201);
      const orderId = placed.body.id;

      expectProblem(
        await http('POST', `/api/v1/orders/${orderId}/ship`, { token: adminToken }),
        409,
        'invalid-order-state',
      );
      expectProblem(await http('POST', `/api/v1/orders/${orderId}/ship`, { token: customer.token }), 403);
      expect((await http('POST', `/api/v1/orders/${orderId}/pay`, { token: customer.token })).status).toBe(200);
      expectProblem(
        await http('POST', `/api/v1/orders/${orderId}/pay`, { token: customer.token }),
        409,
        'invalid-order-state',
      );
      const shipped = await http('POST', `/api/v1/orders/${orderId}/ship`, { token: adminToken });
      expect(shipped.status).toBe(200);
      expectProblem(
        await http('POST', `/api/v1/orders/${orderId}/cancel`, { token: customer.token }),
        409,
        'invalid-order-state',
      );

      const view = await http('GET', `/api/v1/orders/${orderId}`, {
        token: customer.token,
        headers: after(shipped.body.position),
      });
      expect(view.body).toMatchObject({ status: 'shipped', totalCents: 6000, currency: 'EUR' });
      expect(view.body.timeline.map((t: { status: string }) => t.status)).toEqual(['placed', 'paid', 'shipped']);

      const second = await placeOrder(customer.token, [{ productId: product.id, quantity: 3 }]);
      const cancelled = await http('POST', `/api/v1/orders/${second.body.id}/cancel`, { token: customer.token });
      expect(cancelled.status).toBe(200);
      const stock = await http('GET', `/api/v1/products/${product.id}`, { headers: after(cancelled.body.position) });
      expect(stock.body.stock).toBe(6);

      // An admin may cancel a customer's order too.
      const third = await placeOrder(customer.token, [{ productId: product.id, quantity: 1 }]);
      expect((await http('POST', `/api/v1/orders/${third.body.id}/cancel`, { token: adminToken })).status).toBe(200);
    });

    it("never shows a customer another customer's order", async () => {
      const product = await createProduct();
      const alice = await newCustomer();
      const bob = await newCustomer();
      const order = await placeOrder(alice.token, [{ productId: product.id, quantity: 1 }]);
      const position = order.body.position;

      expectProblem(
        await http('GET', `/api/v1/orders/${order.body.id}`, { token: bob.token, headers: after(position) }),
        404,
        'order-not-found',
      );
      expectProblem(
        await http('POST', `/api/v1/orders/${order.body.id}/pay`, { token: bob.token }),
        404,
        'order-not-found',
      );
      expectProblem(
        await http('POST', `/api/v1/orders/${order.body.id}/cancel`, { token: bob.token }),
        404,
        'order-not-found',
      );

      const bobsList = await http('GET', `/api/v1/orders?customerId=${alice.id}`, {
        token: bob.token,
        headers: after(position),
      });
      expect(bobsList.status).toBe(200);
      expect(bobsList.body.items).toEqual([]);
      const alicesList = await http('GET', '/api/v1/orders', { token: alice.token, headers: after(position) });
      expect(alicesList.body.items.map((o: { id: string }) => o.id)).toEqual([order.body.id]);
      const adminView = await http('GET', `/api/v1/orders?customerId=${alice.id}`, {
        token: adminToken,
        headers: after(position),
      });
      expect(adminView.body.items.map((o: { id: string }) => o.id)).toEqual([order.body.id]);
      expect((await http('GET', `/api/v1/orders/${order.body.id}`, { token: adminToken })).status).toBe(200);
    });

    it('reports daily sales as placed minus cancelled, to admins only', async () => {
      const category = `sales-${crypto.randomUUID().slice(0, 8)}`;
      const product = await createProduct({ category, priceCents: 250, stock: 100 });
      const customer = await newCustomer();
      await placeOrder(customer.token, [{ productId: product.id, quantity: 5 }]);
      const second = await placeOrder(customer.token, [{ productId: product.id, quantity: 2 }]);
      const cancelled = await http('POST', `/api/v1/orders/${second.body.id}/cancel`, { token: customer.token });
      const today = new Date().toISOString().slice(0, 10);
      const path = `/api/v1/sales/daily?from=${today}&to=${today}&category=${category}`;
      expectProblem(await http('GET', path, { token: customer.token }), 403);
      const report = await http('GET', path, { token: adminToken, headers: after(cancelled.body.position) });
      expect(report.status).toBe(200);
      expect(report.body.items).toEqual([
        { day: today, productId: product.id, category, currency: 'EUR', units: 5, revenueCents: 1250 },
      ]);
    });

    it('replays an Idempotency-Key and refuses it for a different body', async () => {
      const product = await createProduct({ stock: 10 });
      const customer = await newCustomer();
      const key = crypto.randomUUID();
      const first = await placeOrder(customer.token, [{ productId: product.id, quantity: 1 }], {
        'idempotency-key': key,
      });
      const before = await eventCount();
      const again = await placeOrder(customer.token, [{ productId: product.id, quantity: 1 }], {
        'idempotency-key': key,
      });
      expect(again.status).toBe(201);
      expect(again.body).toEqual(first.body);
      expect(again.headers.get('idempotent-replayed')).toBe('true');
      expect(await eventCount()).toBe(before);
      expectProblem(
        await placeOrder(customer.token, [{ productId: product.id, quantity: 2 }], { 'idempotency-key': key }),
        422,
        'idempotency-key-reused',
      );

      // Concurrent repeats of one key: one order, whatever the interleaving.
      const racing = crypto.randomUUID();
      const beforeRace = await eventCount();
      const answers = await Promise.all(
        Array.from({ length: 6 }, () =>
          placeOrder(customer.token, [{ productId: product.id, quantity: 1 }], { 'idempotency-key': racing }),
        ),
      );
      const created = answers.filter((a) => a.status === 201);
      expect(created.length).toBeGreaterThanOrEqual(1);
      expect(new Set(created.map((a) => a.body.id)).size).toBe(1);
      for (const a of answers.filter((x) => x.status !== 201)) expectProblem(a, 409, 'idempotency-key-in-progress');
      expect(await eventCount()).toBe(beforeRace + 2); // one order placed, one stock reservation
    });
  });

  describe('bad input', () => {
    it('answers 4xx problem+json that says what is wrong, and changes nothing', async () => {
      const customer = await newCustomer();
      const product = await createProduct();
      const before = await eventCount();
      const unknownField = await placeOrder(customer.token, [{ productId: product.id, quantity: 1 }], {});
      expect(unknownField.status).toBe(201);
      const afterOne = await eventCount();

      const cases: Array<[HttpResponse, number, RegExp]> = [
        [
          await http('POST', '/api/v1/orders', { token: customer.token, body: { lines: [], totalCents: 1 } }),
          400,
          /totalCents should not exist/,
        ],
        [
          await http('POST', '/api/v1/orders', {
            token: customer.token,
            body: { lines: [{ productId: product.id, quantity: 0 }] },
          }),
          400,
          /quantity/,
        ],
        [
          await http('POST', '/api/v1/orders', {
            token: customer.token,
            body: { lines: [{ productId: 'x', quantity: 1 }] },
          }),
          400,
          /productId/,
        ],
        [await http('POST', '/api/v1/orders', { token: customer.token, rawBody: '{"lines": [' }), 400, /JSON/],
        [
          await http('POST', '/api/v1/auth/register', {
            body: { email: 'x@example.com', password: 'short', name: 'x', roles: ['admin'] },
          }),
          400,
          /roles should not exist/,
        ],
        [
          await http('POST', '/api/v1/products', {
            token: adminToken,
            body: { sku: 'S', name: 'n', category: 'c', priceCents: 1.5, currency: 'eur', stock: 1 },
          }),
          400,
          /priceCents|currency/,
        ],
        [await http('GET', '/api/v1/products/not-a-uuid'), 404, /no resource/],
        [await http('GET', `/api/v1/products/${crypto.randomUUID()}`), 404, /does not exist/],
      ];
      for (const [response, status, detail] of cases) {
        expectProblem(response, status);
        expect(response.body.detail).toMatch(detail);
      }
      expect(afterOne - before).toBe(2); // the one valid order: order placed + stock reserved
      expect(await eventCount()).toBe(afterOne);
    });
  });

  describe('read-your-writes', () => {
    it('refuses an unknown position and answers 503 with Retry-After while the projection is behind', async () => {
      expectProblem(await http('GET', '/api/v1/products', { headers: after('999999999') }), 400, 'unknown-position');
      expectProblem(await http('GET', '/api/v1/products', { headers: after('abc') }), 400, 'invalid-min-position');

      await projector.stop();
      const product = await createProduct();
      const behind = await http('GET', `/api/v1/products/${product.id}`, { headers: after(product.position) });
      expectProblem(behind, 503, 'read-model-behind');
      expect(behind.headers.get('retry-after')).toBe('1');

      projector = await startApp('projector', appEnv());
      const caughtUp = await http('GET', `/api/v1/products/${product.id}`, { headers: after(product.position) });
      expect(caughtUp.status).toBe(200);
    });
  });

  describe('messaging', () => {
    it('publishes plain JSON envelopes with messageId, type, persistent delivery and traceparent', async () => {
      const traceparent = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
      const product = await createProduct();
      const customer = await newCustomer();
      const placed = await http('POST', '/api/v1/orders', {
        token: customer.token,
        body: { lines: [{ productId: product.id, quantity: 1 }] },
        headers: { traceparent },
      });
      const message = await poll(
        async () =>
          tapped.find(
            (m) =>
              m.properties.type === 'ordering.order.placed' &&
              JSON.parse(m.content.toString()).aggregateId === placed.body.id,
          ),
        (m) => m !== undefined,
        { what: 'the order.placed message on the exchange' },
      );
      const envelope = JSON.parse(message!.content.toString());
      expect(message!.fields.routingKey).toBe('ordering.order.placed');
      expect(message!.properties).toMatchObject({
        messageId: envelope.id,
        contentType: 'application/json',
        deliveryMode: 2,
        // The request's trace continues: same trace id, a span of ours as parent.
        headers: { traceparent: expect.stringMatching(/^00-4bf92f3577b34da6a3ce929d0e0e4736-[0-9a-f]{16}-01$/) },
      });
      expect(envelope).toMatchObject({
        type: 'ordering.order.placed',
        schemaVersion: 1,
        aggregateType: 'Order',
        aggregateVersion: 1,
        payload: { customerId: customer.id, totalCents: 1000, currency: 'EUR' },
        metadata: { actor: customer.id, traceparent: expect.stringMatching(/^00-4bf92f3577b34da6a3ce929d0e0e4736-/) },
      });
    });

    it('changes nothing when a message is delivered again', async () => {
      const category = `dup-${crypto.randomUUID().slice(0, 8)}`;
      const product = await createProduct({ category, priceCents: 700 });
      const customer = await newCustomer();
      const placed = await placeOrder(customer.token, [{ productId: product.id, quantity: 2 }]);
      const original = await poll(
        async () =>
          tapped.find(
            (m) =>
              m.properties.type === 'ordering.order.placed' &&
              JSON.parse(m.content.toString()).aggregateId === placed.body.id,
          ),
        (m) => m !== undefined,
        { what: 'the original message' },
      );
      const today = new Date().toISOString().slice(0, 10);
      const salesPath = `/api/v1/sales/daily?from=${today}&to=${today}&category=${category}`;
      const before = await http('GET', salesPath, { token: adminToken, headers: after(placed.body.position) });
      expect(before.body.items[0].units).toBe(2);

      // The broker delivers the same message again (same body and messageId).
      channel.publish(env.exchange, original!.fields.routingKey, original!.content, original!.properties);
      const sentinel = await placeOrder(customer.token, [
        { productId: (await createProduct({ category: `${category}-x` })).id, quantity: 1 },
      ]);
      await poll(
        async () => (await channel.checkQueue(`${env.queuePrefix}.sales`)).messageCount,
        (n) => n === 0,
        { what: 'the sales queue to drain' },
      );
      const afterDuplicate = await http('GET', salesPath, {
        token: adminToken,
        headers: after(sentinel.body.position),
      });
      expect(afterDuplicate.body.items).toEqual(before.body.items);
      const inbox = await db.query('select count(*) as n from projection_inbox where event_id = $1', [
        JSON.parse(original!.content.toString()).id,
      ]);
      expect(Number(inbox.rows[0].n)).toBe(2); // once for orders, once for sales
    });

    it('parks a message the projector cannot read in the dead-letter queue, with the reason', async () => {
      channel.publish(env.exchange, 'ordering.order.paid', Buffer.from('this is not json'), {
        messageId: 'poison-1',
        persistent: true,
      });
      const parked = await poll(
        () => channel.get(`${env.queuePrefix}.orders.dlq`, { noAck: true }),
        (m) => m !== false,
        { what: 'the poison message in orders.dlq' },
      );
      if (parked === false) throw new Error('unreachable');
      expect(parked.properties.messageId).toBe('poison-1');
      expect(String(parked.properties.headers?.['x-emporium-error'])).toMatch(/not valid JSON/);
      expect(parked.properties.headers?.['x-original-routing-key']).toBe('ordering.order.paid');
    });
    it('dead-letters a well-formed event that is not in event_log at once, without retries', async () => {
      const forged = {
        id: crypto.randomUUID(),
        type: 'catalog.product.price-changed',
        schemaVersion: 1,
        aggregateType: 'Product',
        aggregateId: crypto.randomUUID(),
        aggregateVersion: 2,
        position: '1',
        occurredAt: new Date().toISOString(),
        payload: { priceCents: 1, previousPriceCents: 2, currency: 'EUR' },
        metadata: { actor: 'attacker', correlationId: 'x', causationId: 'x' },
      };
      channel.publish(env.exchange, forged.type, Buffer.from(JSON.stringify(forged)), {
        messageId: forged.id,
        persistent: true,
      });
      const parked = await poll(
        () => channel.get(`${env.queuePrefix}.catalog.dlq`, { noAck: true }),
        (m) => m !== false,
        { what: 'the forged event in catalog.dlq' },
      );
      if (parked === false) throw new Error('unreachable');
      expect(parked.properties.messageId).toBe(forged.id);
      expect(parked.properties.headers?.['x-emporium-attempts']).toBe(1);
      expect(String(parked.properties.headers?.['x-emporium-error'])).toMatch(/not in event_log/);
    });
  });

  describe('operations', () => {
    it('serves health on both apps', async () => {
      for (const app of [api, projector]) {
        expect((await fetch(`${app.url}/health/live`)).status).toBe(200);
        expect((await fetch(`${app.url}/health/ready`)).status).toBe(200);
      }
      const report = await (await fetch(`${api.url}/health`)).json();
      expect(report).toMatchObject({
        status: 'ok',
        details: {
          database: { status: 'up' },
          broker: { status: 'up' },
          outbox: { status: 'up' },
          'projection:catalog': { status: 'up' },
        },
      });
      const projectorReport = (await (await fetch(`${projector.url}/health`)).json()) as { details: unknown };
      expect(projectorReport.details).toMatchObject({
        database: { status: 'up' },
        broker: { status: 'up' },
        'dlq:sales': { status: 'up' },
      });
    });

    it('serves the OpenAPI document, and the committed openapi.json matches the code', async () => {
      const live = await http('GET', '/docs-json');
      expect(live.status).toBe(200);
      const committed = JSON.parse(await readFile(new URL('../../openapi.json', import.meta.url), 'utf8'));
      expect(live.body).toEqual(committed); // run `npm run openapi` after changing the API
      const ui = await http('GET', '/docs');
      expect(ui.status).toBe(200);
      expect(String(ui.body)).toContain('swagger');
    });

    it('refuses to start with a malformed setting and names it', async () => {
      const { code, output } = await runToExit('api', { ...env.env, PORT: 'eighty' });
      expect(code).toBe(78);
      expect(output).toMatch(/PORT: .*"eighty"/);
    });
  });

  // Declared last, and in its own block, so it runs after every other scenario.
  describe('finally', () => {
    it('ends with read models equal to a rebuild from event_log: nothing lost, nothing applied twice', async () => {
      const quiet = await poll(
        () =>
          db.query('select count(*) as n from event_log where published_at is null').then((r) => Number(r.rows[0].n)),
        (n) => n === 0,
        { what: 'the outbox to drain' },
      );
      expect(quiet).toBe(0);
      const report = await poll(
        () => compareWithRebuild(env.databaseUrl),
        (r) => r.missing.length === 0,
        {
          what: 'every projection to apply every event',
          timeoutMs: 20_000,
          intervalMs: 200,
        },
      );
      expect(report.events).toBeGreaterThan(50);
      expect(report.doubleApplied).toBe(0);
      expect(report.differences).toEqual({});
    });
  });
});
