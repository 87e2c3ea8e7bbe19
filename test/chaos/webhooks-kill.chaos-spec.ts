/** @requires-services PostgreSQL RabbitMQ (see jest.config.js) */
import pg from 'pg';
import {
  httpClient,
  poll,
  requireServices,
  startSystem,
  WebhookReceiver,
  type SystemUnderTest,
} from '@emporium/testing';

const ADMIN = { email: 'admin@example.com', password: 'staff-passphrase-for-tests' };

/**
 * kill -9 of the process that sends webhooks (the projector), while a request to the endpoint is
 * in flight: after a restart nothing is lost, each event arrives at least once, a repeat carries
 * the same webhook-id, and the order per endpoint holds. Stops only the processes it started.
 */
describe('webhooks survive kill -9 of the deliverer mid-delivery', () => {
  let system: SystemUnderTest;
  let db: pg.Pool;
  let receiver: WebhookReceiver;

  beforeAll(async () => {
    await requireServices();
    system = await startSystem('distributed', 'webhooks_chaos', {
      ADMIN_EMAIL: ADMIN.email,
      ADMIN_PASSWORD: ADMIN.password,
      WEBHOOK_ALLOW_PRIVATE_NETWORKS: 'true',
      WEBHOOK_RETRY_SCHEDULE: '100ms,200ms,500ms',
      // The lease of a dead deliverer expires after the timeout plus 5 s.
      WEBHOOK_TIMEOUT: '1s',
    });
    db = new pg.Pool({ connectionString: system.databaseUrl, max: 2 });
  }, 120_000);

  afterAll(async () => {
    await receiver?.stop();
    await db?.end();
    await system?.stop();
  });

  it('loses no event and repeats only with the same webhook-id', async () => {
    const http = httpClient(system.apiUrl);
    const token = (await http('POST', '/api/v1/auth/login', { body: ADMIN })).body.accessToken as string;
    let killed = false;
    const distinct = new Set<string>();
    receiver = await new WebhookReceiver((attempt, id) => {
      distinct.add(id);
      if (!killed && distinct.size === 3) {
        // The third event is being sent: the deliverer dies before it hears the answer.
        killed = true;
        system.projector!.process.kill('SIGKILL');
        return 'hang';
      }
      return 200;
    }).start();
    const created = await http('POST', '/api/v1/webhooks', {
      token,
      body: { url: receiver.url, eventTypes: ['catalog.product.created'] },
    });
    expect(created.status).toBe(201);
    receiver.secret = created.body.secret;

    const products: string[] = [];
    for (let i = 0; i < 8; i++) {
      const response = await http('POST', '/api/v1/products', {
        token,
        body: {
          sku: `CHAOS-${i}-${crypto.randomUUID().slice(0, 6)}`,
          name: `Chaos ${i}`,
          description: 'sent while the deliverer dies',
          category: 'general',
          priceCents: 100,
          currency: 'EUR',
          stock: 1,
        },
      });
      expect(response.status).toBe(201);
      products.push(response.body.id);
    }
    await poll(
      async () => killed && system.projector!.process.signalCode === 'SIGKILL',
      (dead) => dead,
      { what: 'the projector to be killed mid-delivery', timeoutMs: 30_000 },
    );
    await system.restartProjector!();

    const events = (
      await db.query<{ id: string }>(
        `select id from event_log where type = 'catalog.product.created' and aggregate_id = any($1::uuid[]) order by position`,
        [products],
      )
    ).rows.map((r) => r.id);
    const delivered = await poll(
      async () => receiver.delivered(),
      (list) => list.length === events.length,
      { what: 'every event at the endpoint after the restart', timeoutMs: 45_000, intervalMs: 100 },
    );
    expect(delivered.map((r) => r.webhookId)).toEqual(events);
    // At least once: the one in flight at the kill came again, with the same id and body.
    const ids = receiver.received.map((r) => r.webhookId);
    expect(new Set(ids)).toEqual(new Set(events));
    const inFlight = receiver.received.filter((r) => r.webhookId === events[2]);
    expect(inFlight.length).toBeGreaterThanOrEqual(2);
    expect(new Set(inFlight.map((r) => JSON.stringify(r.body))).size).toBe(1);
    expect(receiver.received.every((r) => r.verified && r.body.id === r.webhookId)).toBe(true);
    // The sender records each answer just after the receiver sent it.
    const rows = await poll(
      async () =>
        (
          await db.query<{ status: string; n: number }>(
            `select status, count(*)::int as n from webhook_deliveries where endpoint_id = $1 group by status`,
            [created.body.id],
          )
        ).rows,
      (found) => found.length === 1 && found[0].status === 'delivered',
      { what: 'every delivery row to be delivered' },
    );
    expect(rows).toEqual([{ status: 'delivered', n: events.length }]);
  }, 120_000);
});
