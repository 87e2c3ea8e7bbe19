/** @requires-services PostgreSQL RabbitMQ (see jest.config.js) */
import pg from 'pg';
import { setTimeout as delay } from 'node:timers/promises';
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

/**
 * Order expiry under load, with its worker killed mid-sweep: customers keep placing orders and
 * paying some of them around their deadline while the projector expires the unpaid ones; the
 * projector is killed with SIGKILL while due orders are being expired, and started again. No
 * expiry is lost, none runs twice, and a payment racing an expiry ends in exactly one of the two.
 * Touches only its own processes and database, never the shared services.
 */
describe('order expiry under load, kill -9 mid-sweep', () => {
  const ADMIN = { email: 'admin@example.com', password: 'staff-passphrase-for-tests' };
  const CUSTOMERS = 8;
  const PRODUCTS = 6;
  const STOCK = 100_000;
  const TIMEOUT_MS = 1500;
  let env: IsolatedEnvironment;
  let api: RunningApp;
  let projector: RunningApp;
  let db: pg.Pool;
  const appEnv = (): Record<string, string> => ({
    ...env.env,
    ADMIN_EMAIL: ADMIN.email,
    ADMIN_PASSWORD: ADMIN.password,
    RATE_LIMIT_DEFAULT: '10000000',
    ORDER_PAYMENT_TIMEOUT: `${TIMEOUT_MS}ms`,
    ORDER_EXPIRY_INTERVAL_MS: '50',
  });

  beforeAll(async () => {
    await requireServices();
    env = await isolatedEnvironment('chaos_expiry', allEntities);
    [api, projector] = await Promise.all([startApp('api', appEnv()), startApp('projector', appEnv())]);
    db = new pg.Pool({ connectionString: env.databaseUrl, max: 4 });
  });

  afterAll(async () => {
    await db?.end();
    for (const p of [api, projector]) await p?.stop('SIGKILL').catch(() => undefined);
    await env?.dispose();
  });

  const count = async (sql: string): Promise<number> => Number((await db.query(sql)).rows[0].n);

  it('expires every unpaid order exactly once and no paid one, whatever is killed when', async () => {
    const http = httpClient(api.url);
    const admin = (await http('POST', '/api/v1/auth/login', { body: ADMIN })).body.accessToken as string;
    const products: string[] = [];
    for (let i = 0; i < PRODUCTS; i++) {
      const created = await http('POST', '/api/v1/products', {
        token: admin,
        body: {
          sku: `CHX-${i}-${crypto.randomUUID().slice(0, 6)}`,
          name: `Timer ${i}`,
          category: 'general',
          priceCents: 700,
          currency: 'EUR',
          stock: STOCK,
        },
      });
      expect(created.status).toBe(201);
      products.push(created.body.id);
    }
    const tokens: string[] = [];
    for (let i = 0; i < CUSTOMERS; i++) {
      const email = `c${i}-${crypto.randomUUID().slice(0, 6)}@example.com`;
      await http('POST', '/api/v1/auth/register', {
        body: { email, password: 'a-long-enough-password', name: `C${i}` },
      });
      tokens.push(
        (await http('POST', '/api/v1/auth/login', { body: { email, password: 'a-long-enough-password' } })).body
          .accessToken,
      );
    }

    // What each payment attempt answered: 200 means paid, 409 means the expiry came first.
    const payments = new Map<string, number>();
    const unexpected: string[] = [];
    let loading = true;
    const pending: Promise<unknown>[] = [];
    const customer = async (token: string, n: number): Promise<void> => {
      for (let i = 0; loading; i++) {
        const placed = await http('POST', '/api/v1/orders', {
          token,
          body: { lines: [{ productId: products[(n + i) % PRODUCTS], quantity: 1 + (i % 3) }] },
        });
        if (placed.status !== 201) {
          unexpected.push(`place ${placed.status}`);
          continue;
        }
        // Half are paid, some right away, some around their deadline; the rest are left to expire.
        if (i % 2 === 0) {
          const id: string = placed.body.id;
          const wait = (i * 397) % (TIMEOUT_MS + 500);
          pending.push(
            delay(wait).then(async () => {
              const paid = await http('POST', `/api/v1/orders/${id}/pay`, { token });
              if (paid.status !== 200 && paid.status !== 409) unexpected.push(`pay ${paid.status}`);
              payments.set(id, paid.status);
            }),
          );
        }
      }
    };
    const load = Promise.all(tokens.map((token, n) => customer(token, n)));

    // Kill the projector while it is expiring: expiries have started and due orders remain.
    const expired = "select count(*) as n from event_log where type = 'ordering.order.cancelled'";
    const dueNow = `select count(*) as n from orders where status = 'placed' and placed_at <= now() - interval '${TIMEOUT_MS} milliseconds'`;
    await poll(
      async () => ({ expired: await count(expired), due: await count(dueNow) }),
      (s) => s.expired >= 20 && s.due > 0,
      { timeoutMs: 60_000, intervalMs: 10, what: 'expiries in progress with due orders left' },
    );
    await projector.stop('SIGKILL');
    const atKill = await count(expired);
    // With no projector, due orders pile up (nothing in memory was the schedule).
    await poll(
      () => count(dueNow),
      (due) => due >= 10,
      { timeoutMs: 30_000, what: 'due orders while no projector runs' },
    );
    projector = await startApp('projector', appEnv());
    // The restarted worker takes over while orders keep coming.
    await poll(
      () => count(expired),
      (n) => n >= atKill + 20,
      { timeoutMs: 30_000, what: 'expiries after the restart' },
    );
    loading = false;
    await load;
    await Promise.all(pending);
    expect(unexpected).toEqual([]);

    await poll(
      () => count("select count(*) as n from orders where status = 'placed'"),
      (placed) => placed === 0,
      { timeoutMs: 60_000, what: 'every unpaid order to expire' },
    );
    expect(await count(expired)).toBeGreaterThan(atKill);

    const orders = await db.query<{ id: string; status: string; cancels: string; pays: string; reason: string | null }>(
      `select o.id, o.status,
              count(*) filter (where e.type = 'ordering.order.cancelled') as cancels,
              count(*) filter (where e.type = 'ordering.order.paid') as pays,
              max(e.payload->>'reason') filter (where e.type = 'ordering.order.cancelled') as reason
         from orders o join event_log e on e.aggregate_id = o.id group by o.id, o.status`,
    );
    const wrong = orders.rows.filter((o) => {
      const paidAnswer = payments.get(o.id);
      if (o.status === 'paid')
        return o.cancels !== '0' || o.pays !== '1' || (paidAnswer !== undefined && paidAnswer !== 200);
      return (
        o.status !== 'cancelled' ||
        o.cancels !== '1' ||
        o.pays !== '0' ||
        o.reason !== 'payment-timeout' ||
        paidAnswer === 200
      );
    });
    expect(wrong).toEqual([]);
    expect(orders.rows.filter((o) => o.status === 'paid').length).toBeGreaterThan(0);
    expect(orders.rows.filter((o) => o.status === 'cancelled').length).toBeGreaterThan(20);

    // Stock: every expired order gave its units back, every paid one keeps them.
    const held = await db.query<{ product_id: string; held: string }>(
      `select l->>'productId' as product_id, sum((l->>'quantity')::int) as held
         from orders o, jsonb_array_elements(o.lines) l where o.status = 'paid' group by 1`,
    );
    const stock = await db.query<{ id: string; stock: number }>('select id, stock from products');
    for (const { id, stock: left } of stock.rows) {
      const kept = Number(held.rows.find((h) => h.product_id === id)?.held ?? 0);
      expect({ id, stock: left }).toEqual({ id, stock: STOCK - kept });
    }
  });
});
