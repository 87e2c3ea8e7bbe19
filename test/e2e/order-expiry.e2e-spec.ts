/** @requires-services PostgreSQL RabbitMQ (see jest.config.js) */
import pg from 'pg';
import {
  httpClient,
  poll,
  requireServices,
  startSystem,
  type SystemMode,
  type SystemUnderTest,
} from '@emporium/testing';

const ADMIN = { email: 'admin@example.com', password: 'staff-passphrase-for-tests' };

/**
 * Unpaid orders expire, in both modes: the all-in-one process on its embedded database, and the
 * api and projector processes on PostgreSQL and RabbitMQ. Driven over HTTP as a shop would see it.
 */
describe.each<SystemMode>(['embedded', 'distributed'])('Unpaid orders expire (%s)', (mode) => {
  let system: SystemUnderTest;
  let db: pg.Pool;
  let http: ReturnType<typeof httpClient>;
  let adminToken: string;
  let customerToken: string;

  beforeAll(async () => {
    if (mode === 'distributed') await requireServices();
    system = await startSystem(mode, `expiry_${mode}`, {
      ADMIN_EMAIL: ADMIN.email,
      ADMIN_PASSWORD: ADMIN.password,
      DEMO_DATA: 'false',
      ORDER_PAYMENT_TIMEOUT: '1s',
      ORDER_EXPIRY_INTERVAL_MS: '100',
    });
    db = new pg.Pool({ connectionString: system.databaseUrl, max: 2 });
    http = httpClient(system.apiUrl);
    adminToken = (await http('POST', '/api/v1/auth/login', { body: ADMIN })).body.accessToken;
    const email = `buyer-${crypto.randomUUID().slice(0, 8)}@example.com`;
    const password = 'a-long-enough-password';
    expect((await http('POST', '/api/v1/auth/register', { body: { email, password, name: 'Buyer' } })).status).toBe(
      201,
    );
    customerToken = (await http('POST', '/api/v1/auth/login', { body: { email, password } })).body.accessToken;
  });

  afterAll(async () => {
    await db?.end();
    await system?.stop();
  });

  const order = (id: string) =>
    poll(
      () => http('GET', `/api/v1/orders/${id}`, { token: customerToken }),
      (r) => r.status === 200,
      { what: `order ${id} in the read model` },
    );
  const placeOrder = async (productId: string, quantity: number): Promise<string> => {
    const placed = await http('POST', '/api/v1/orders', {
      token: customerToken,
      body: { lines: [{ productId, quantity }] },
    });
    expect(placed.status).toBe(201);
    return placed.body.id;
  };

  it('cancels an order left unpaid with reason payment-timeout and returns its stock; a paid one stays paid', async () => {
    const created = await http('POST', '/api/v1/products', {
      token: adminToken,
      body: {
        sku: `EXP-${crypto.randomUUID().slice(0, 6)}`,
        name: 'Hourglass',
        category: 'general',
        priceCents: 1500,
        currency: 'EUR',
        stock: 5,
      },
    });
    expect(created.status).toBe(201);
    const productId: string = created.body.id;

    const unpaid = await placeOrder(productId, 2);
    const paid = await placeOrder(productId, 1);
    expect((await http('POST', `/api/v1/orders/${paid}/pay`, { token: customerToken })).status).toBe(200);

    const expired = await poll(
      () => order(unpaid),
      (r) => r.body.status === 'cancelled',
      { timeoutMs: 20_000, what: 'the unpaid order to expire' },
    );
    expect(expired.body).toMatchObject({ id: unpaid, status: 'cancelled' });
    const cancelled = await db.query<{ reason: string; actor: string }>(
      `select payload->>'reason' as reason, metadata->>'actor' as actor
         from event_log where aggregate_id = $1 and type = 'ordering.order.cancelled'`,
      [unpaid],
    );
    expect(cancelled.rows).toEqual([{ reason: 'payment-timeout', actor: 'system' }]);
    // Its two units are back; the paid order still holds its one.
    await poll(
      () => http('GET', `/api/v1/products/${productId}`).then((r) => r.body.stock as number),
      (stock) => stock === 4,
      { what: 'the expired order’s stock back on the product' },
    );

    // An order placed after the paid one became overdue expires too: the sweeps went past the
    // paid order's deadline and left it alone.
    const later = await placeOrder(productId, 1);
    await poll(
      () => order(later),
      (r) => r.body.status === 'cancelled',
      { timeoutMs: 20_000, what: 'a later unpaid order to expire' },
    );
    expect((await order(paid)).body.status).toBe('paid');
    const paidEvents = await db.query<{ type: string }>(
      'select type from event_log where aggregate_id = $1 order by aggregate_version',
      [paid],
    );
    expect(paidEvents.rows.map((r) => r.type)).toEqual(['ordering.order.placed', 'ordering.order.paid']);
  });
});
