import { readFile } from 'node:fs/promises';
import pg from 'pg';
import {
  compareWithRebuild,
  httpClient,
  poll,
  requireServices,
  startSystem,
  type HttpResponse,
  type SystemMode,
  type SystemUnderTest,
} from '@emporium/testing';

/** What a contract run hands to the scenarios a mode adds (see commerce.<mode>.e2e-spec.ts). */
export interface CommerceContext {
  system: SystemUnderTest;
  http: ReturnType<typeof httpClient>;
  db: pg.Pool;
  adminToken: string;
  expectProblem: (response: HttpResponse, status: number, code?: string) => void;
  eventCount: () => Promise<number>;
  newCustomer: () => Promise<{ id: string; token: string; email: string }>;
  createProduct: (fields?: Record<string, unknown>) => Promise<{ id: string; position: string; version: number }>;
  placeOrder: (
    token: string,
    lines: Array<{ productId: string; quantity: number }>,
    headers?: Record<string, string>,
  ) => Promise<HttpResponse>;
  after: (position: string) => Record<string, string>;
}

/**
 * The end-to-end API contract: the whole system as clients see it, driven over HTTP only (plus
 * reads of its database to prove "changes nothing" and "nothing lost"). It runs unchanged against
 * both modes: `embedded` (the all-in-one process on PGlite and the in-process transport) and
 * `distributed` (api and projector processes on PostgreSQL and RabbitMQ). `more` registers a
 * mode's own scenarios; they run before the final rebuild check.
 */
export function describeCommerceContract(
  mode: SystemMode,
  more: (ctx: CommerceContext) => void = () => undefined,
): void {
  describe(`Emporium end to end (${mode})`, () => {
    const ADMIN = { email: 'admin@example.com', password: 'staff-passphrase-for-tests' };
    const ctx = {} as CommerceContext;
    let http: ReturnType<typeof httpClient>;
    let adminToken: string;

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
      Number((await ctx.db.query('select count(*) as n from event_log')).rows[0].n);

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

    Object.assign(ctx, { expectProblem, eventCount, newCustomer, createProduct, placeOrder, after });

    beforeAll(async () => {
      if (mode === 'distributed') await requireServices();
      ctx.system = await startSystem(mode, `contract_${mode}`, {
        ADMIN_EMAIL: ADMIN.email,
        ADMIN_PASSWORD: ADMIN.password,
        READ_YOUR_WRITES_TIMEOUT_MS: '1500',
        DEMO_DATA: 'false',
      });
      ctx.db = new pg.Pool({ connectionString: ctx.system.databaseUrl, max: 2 });
      http = ctx.http = httpClient(ctx.system.apiUrl);
      const login = await http('POST', '/api/v1/auth/login', { body: ADMIN });
      expect(login.status).toBe(200);
      adminToken = ctx.adminToken = login.body.accessToken;
    });

    afterAll(async () => {
      await ctx.db?.end();
      await ctx.system?.stop();
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
        expect(inRange.body.items.map((p: { name: string }) => p.name)).toEqual([
          'Linen apron',
          'Walnut chopping board',
        ]);

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
        const sku = `OLD-${crypto.randomUUID().slice(0, 8)}`;
        const product = await createProduct({ stock: 1, sku, name: 'Retired teapot' });
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
        expect(order.body.discontinuedProducts).toEqual([{ productId: product.id, sku, name: 'Retired teapot' }]);
        expect(order.body.detail).toContain(`Retired teapot (SKU ${sku}`);
      });
    });

    describe('catalog queries', () => {
      const suffix = (): string => crypto.randomUUID().slice(0, 8);
      const names = (response: HttpResponse): string[] => response.body.items.map((p: { name: string }) => p.name);

      it('takes categories as people write them, filters them without regard to case, and lists them', async () => {
        const tag = suffix();
        const electronics = `Electronics ${tag}`;
        const tv = await createProduct({ category: electronics, name: 'Television', priceCents: 45_000 });
        await createProduct({ category: `  ${electronics.toLowerCase()} `, name: 'Cable', priceCents: 900 });
        const garden = await createProduct({ category: `Home & Garden ${tag}`, name: 'Rake', priceCents: 2500 });

        // "category = 'Electronics' AND price > 100.00", as a shop would ask it.
        const query = `category=${encodeURIComponent(electronics.toUpperCase())}&minPriceCents=10001`;
        const expensive = await http('GET', `/api/v1/products?${query}`, { headers: after(garden.position) });
        expect(expensive.status).toBe(200);
        expect(names(expensive)).toEqual(['Television']);
        expect(expensive.body.items[0].category).toBe(electronics);
        const both = await http('GET', `/api/v1/products?category=${encodeURIComponent(electronics)}&sort=name`);
        expect(both.body.items.map((p: { name: string; category: string }) => [p.name, p.category])).toEqual([
          ['Cable', electronics.toLowerCase()],
          ['Television', electronics],
        ]);

        const listed = await http('GET', '/api/v1/categories', { headers: after(garden.position) });
        expect(listed.status).toBe(200);
        const ours = listed.body.items.filter((c: { name: string }) => c.name.endsWith(tag));
        expect(ours).toEqual([
          { name: electronics, productCount: 2 },
          { name: `Home & Garden ${tag}`, productCount: 1 },
        ]);

        // A discontinued product leaves its category's count, and can no longer be had.
        const discontinued = await http('POST', `/api/v1/products/${tv.id}/discontinue`, { token: adminToken });
        expect(discontinued.status).toBe(200);
        const shown = await http('GET', `/api/v1/products/${tv.id}`, { headers: after(discontinued.body.position) });
        expect(shown.body).toMatchObject({ status: 'discontinued', stock: 10, inStock: false });
        const relisted = await http('GET', '/api/v1/categories');
        expect(relisted.body.items.filter((c: { name: string }) => c.name.endsWith(tag))).toEqual([
          { name: electronics, productCount: 1 },
          { name: `Home & Garden ${tag}`, productCount: 1 },
        ]);

        for (const category of ['<script>', '-leading-dash', 'x'.repeat(65)]) {
          const refused = await http('POST', '/api/v1/products', {
            token: adminToken,
            body: { sku: `BAD-${suffix()}`, name: 'x', category, priceCents: 1, currency: 'EUR', stock: 1 },
          });
          expectProblem(refused, 400, 'validation-failed');
          expect(refused.body.detail).toMatch(/category/);
        }
      });

      it('says price filters are in cents: minPriceCents, and minPrice as its older name', async () => {
        const category = `units-${suffix()}`;
        await createProduct({ category, name: 'Pencil', priceCents: 49 });
        const last = await createProduct({ category, name: 'Notebook', priceCents: 5000 });
        const byCents = await http('GET', `/api/v1/products?category=${category}&minPriceCents=50`, {
          headers: after(last.position),
        });
        expect(names(byCents)).toEqual(['Notebook']);
        const byOldName = await http('GET', `/api/v1/products?category=${category}&minPrice=50`);
        expect(names(byOldName)).toEqual(['Notebook']);
        const capped = await http('GET', `/api/v1/products?category=${category}&maxPriceCents=4999`);
        expect(names(capped)).toEqual(['Pencil']);
        const twice = await http('GET', `/api/v1/products?category=${category}&minPrice=50&minPriceCents=5000`);
        expectProblem(twice, 400, 'validation-failed');
        expect(twice.body.detail).toMatch(/minPrice.*minPriceCents.*not both/);
      });

      it('matches search words as prefixes, as they are typed', async () => {
        const category = `search-${suffix()}`;
        await createProduct({ category, name: 'Coffee grinder', description: 'burr mill' });
        const last = await createProduct({ category, name: 'Teapot', description: 'for loose leaves' });
        const partial = await http('GET', `/api/v1/products?category=${category}&q=coff`, {
          headers: after(last.position),
        });
        expect(names(partial)).toEqual(['Coffee grinder']);
        expect(names(await http('GET', `/api/v1/products?category=${category}&q=grind%20bur`))).toEqual([
          'Coffee grinder',
        ]);
        expect(names(await http('GET', `/api/v1/products?category=${category}&q=loose%20-coffee`))).toEqual(['Teapot']);
        expect(names(await http('GET', `/api/v1/products?category=${category}&q=espresso`))).toEqual([]);
      });

      it('refuses a cursor reused with other filters, saying so, for products and orders', async () => {
        const category = `pages-${suffix()}`;
        await createProduct({ category, priceCents: 100 });
        await createProduct({ category, priceCents: 200 });
        const last = await createProduct({ category, priceCents: 300 });
        const first = await http('GET', `/api/v1/products?category=${category}&sort=price_asc&limit=2`, {
          headers: after(last.position),
        });
        const cursor = first.body.nextCursor as string;
        expect(cursor).toEqual(expect.any(String));
        // The same filters (the category in another case, another page size) continue the list.
        const next = await http(
          'GET',
          `/api/v1/products?category=${category.toUpperCase()}&sort=price_asc&limit=5&cursor=${cursor}`,
        );
        expect(next.body.items.map((p: { priceCents: number }) => p.priceCents)).toEqual([300]);
        for (const other of [
          `category=general`,
          `category=${category}&minPriceCents=150`,
          `category=${category}&q=x`,
        ]) {
          const reused = await http('GET', `/api/v1/products?${other}&sort=price_asc&cursor=${cursor}`);
          expectProblem(reused, 400, 'invalid-cursor');
          expect(reused.body).toMatchObject({
            reason: 'filter-mismatch',
            detail: expect.stringMatching(/other filters/),
          });
        }
        const garbled = await http('GET', `/api/v1/products?category=${category}&sort=price_asc&cursor=abc`);
        expectProblem(garbled, 400, 'invalid-cursor');
        expect(garbled.body.reason).toBe('malformed');

        const customer = await newCustomer();
        const product = await createProduct({ stock: 5 });
        await placeOrder(customer.token, [{ productId: product.id, quantity: 1 }]);
        const placed = await placeOrder(customer.token, [{ productId: product.id, quantity: 1 }]);
        const orders = await http('GET', '/api/v1/orders?limit=1', {
          token: customer.token,
          headers: after(placed.body.position),
        });
        const orderCursor = orders.body.nextCursor as string;
        expect(orderCursor).toEqual(expect.any(String));
        const olderOrder = await http('GET', `/api/v1/orders?limit=1&cursor=${orderCursor}`, { token: customer.token });
        expect(olderOrder.status).toBe(200);
        expect(olderOrder.body.items).toHaveLength(1);
        const otherStatus = await http('GET', `/api/v1/orders?status=paid&cursor=${orderCursor}`, {
          token: customer.token,
        });
        expectProblem(otherStatus, 400, 'invalid-cursor');
        expect(otherStatus.body.reason).toBe('filter-mismatch');
      });
    });

    describe('ordering', () => {
      it('gives exactly 3 of 8 concurrent orders for the last 3 units, and 409 naming the product to the rest', async () => {
        const sku = `HOT-${crypto.randomUUID().slice(0, 8)}`;
        const product = await createProduct({ stock: 3, sku, name: 'Hot kettle' });
        const customers = await Promise.all(Array.from({ length: 8 }, () => newCustomer()));
        const results = await Promise.all(
          customers.map((c) => placeOrder(c.token, [{ productId: product.id, quantity: 1 }])),
        );
        const statuses = results.map((r) => r.status).sort();
        expect(statuses).toEqual([201, 201, 201, 409, 409, 409, 409, 409]);
        for (const refused of results.filter((r) => r.status === 409)) {
          expectProblem(refused, 409, 'out-of-stock');
          expect(refused.body.products).toEqual([
            { productId: product.id, sku, name: 'Hot kettle', requested: 1, available: 0 },
          ]);
          expect(refused.body.detail).toContain(`Hot kettle (SKU ${sku}`);
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
        const sku = `SCARCE-${crypto.randomUUID().slice(0, 8)}`;
        const scarce = await createProduct({ stock: 1, sku, name: 'Scarce spoon' });
        const customer = await newCustomer();
        const before = await eventCount();
        const refused = await placeOrder(customer.token, [
          { productId: plenty.id, quantity: 2 },
          { productId: scarce.id, quantity: 2 },
        ]);
        expectProblem(refused, 409, 'out-of-stock');
        expect(refused.body.products).toEqual([
          { productId: scarce.id, sku, name: 'Scarce spoon', requested: 2, available: 1 },
        ]);
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
        // An admin sees the order, so "not found" would be a lie: the refusal names the rule.
        const adminPays = await http('POST', `/api/v1/orders/${order.body.id}/pay`, { token: adminToken });
        expectProblem(adminPays, 403, 'only-owner-pays');
        expect(adminPays.body.detail).toMatch(/only the customer who placed order .* can pay it/);
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
        // Without from and to: the last 30 days, today included; the category in any case.
        const recent = await http('GET', `/api/v1/sales/daily?category=${category.toUpperCase()}`, {
          token: adminToken,
        });
        expect(recent.status).toBe(200);
        expect(recent.body.items).toEqual(report.body.items);
        const fromOnly = await http('GET', `/api/v1/sales/daily?from=${today}`, { token: adminToken });
        expect(fromOnly.body.items).toContainEqual(report.body.items[0]);
        expectProblem(
          await http('GET', '/api/v1/sales/daily?from=2999-01-01', { token: adminToken }),
          400,
          'invalid-range',
        );
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
      it('refuses an unknown or malformed position', async () => {
        expectProblem(await http('GET', '/api/v1/products', { headers: after('999999999') }), 400, 'unknown-position');
        expectProblem(await http('GET', '/api/v1/products', { headers: after('abc') }), 400, 'invalid-min-position');
      });
    });

    describe('operations', () => {
      it('serves health on the api and the projections, naming the transport in use', async () => {
        const { apiUrl, projectorUrl } = ctx.system;
        for (const url of [apiUrl, projectorUrl]) {
          expect((await fetch(`${url}/health/live`)).status).toBe(200);
          expect((await fetch(`${url}/health/ready`)).status).toBe(200);
        }
        const report = await (await fetch(`${apiUrl}/health`)).json();
        expect(report).toMatchObject({
          status: 'ok',
          details: {
            database: { status: 'up' },
            outbox: { status: 'up' },
            'projection:catalog': { status: 'up' },
          },
        });
        const transport = mode === 'distributed' ? 'broker' : 'event-log-transport';
        const projectorReport = (await (await fetch(`${projectorUrl}/health`)).json()) as { details: unknown };
        expect(projectorReport.details).toMatchObject({
          database: { status: 'up' },
          [transport]: { status: 'up' },
          'dlq:sales': { status: 'up' },
        });
      });

      it('serves the OpenAPI document, and the committed openapi.json matches the code', async () => {
        const live = await http('GET', '/docs-json');
        expect(live.status).toBe(200);
        const committed = JSON.parse(await readFile(new URL('../../../openapi.json', import.meta.url), 'utf8'));
        expect(live.body).toEqual(committed); // run `npm run openapi` after changing the API
        const ui = await http('GET', '/docs');
        expect(ui.status).toBe(200);
        expect(String(ui.body)).toContain('swagger');
      });
    });

    describe(`${mode} only`, () => {
      more(ctx);
    });

    // Declared last, and in its own block, so it runs after every other scenario.
    describe('finally', () => {
      it('ends with read models equal to a rebuild from event_log: nothing lost, nothing applied twice', async () => {
        const quiet = await poll(
          () =>
            ctx.db
              .query('select count(*) as n from event_log where published_at is null')
              .then((r) => Number(r.rows[0].n)),
          (n) => n === 0,
          { what: 'every event to be delivered' },
        );
        expect(quiet).toBe(0);
        const report = await poll(
          () => compareWithRebuild(ctx.system.databaseUrl, { scratch: mode === 'embedded' ? 'embedded' : 'server' }),
          (r) => r.missing.length === 0,
          { what: 'every projection to apply every event', timeoutMs: 30_000, intervalMs: 200 },
        );
        expect(report.events).toBeGreaterThan(50);
        expect(report.doubleApplied).toBe(0);
        expect(report.differences).toEqual({});
      });
    });
  });
}
