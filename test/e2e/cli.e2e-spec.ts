/** @requires-services PostgreSQL RabbitMQ (see jest.config.js) */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { connect, type Channel, type ChannelModel } from 'amqplib';
import pg from 'pg';
import { ordersProjectionEvents } from '@emporium/ordering';
import { ProjectionTopology } from '@emporium/messaging';
import {
  allEntities,
  compareWithRebuild,
  httpClient,
  isolatedEnvironment,
  poll,
  requireServices,
  SERVICE_URLS,
  startApp,
  type IsolatedEnvironment,
  type RunningApp,
} from '@emporium/testing';

const run = promisify(execFile);

/** The operations CLI, as an on-call engineer runs it against a live system. */
describe('operations CLI', () => {
  let env: IsolatedEnvironment;
  let api: RunningApp;
  let projector: RunningApp;
  let amqp: ChannelModel;
  let channel: Channel;
  const ADMIN = { email: 'admin@example.com', password: 'staff-passphrase-for-tests' };
  const cli = async (...args: string[]): Promise<string> => {
    const { stdout } = await run(process.execPath, ['dist/apps/cli/src/main.js', ...args], {
      cwd: new URL('../../', import.meta.url).pathname,
      env: { PATH: process.env.PATH ?? '', ...env.env },
    });
    return stdout;
  };

  beforeAll(async () => {
    await requireServices();
    env = await isolatedEnvironment('cli', allEntities);
    const appEnv = { ...env.env, ADMIN_EMAIL: ADMIN.email, ADMIN_PASSWORD: ADMIN.password };
    [api, projector] = await Promise.all([startApp('api', appEnv), startApp('projector', appEnv)]);
    amqp = await connect(SERVICE_URLS.amqp);
    channel = await amqp.createChannel();
  });

  afterAll(async () => {
    await api?.stop();
    await projector?.stop();
    await amqp?.close();
    await env?.dispose();
  });

  it('reports applied and head positions, lag and dead-letter depth per projection', async () => {
    const http = httpClient(api.url);
    const token = (await http('POST', '/api/v1/auth/login', { body: ADMIN })).body.accessToken as string;
    const created = await http('POST', '/api/v1/products', {
      token,
      body: { sku: 'CLI-1', name: 'Cli', category: 'ops', priceCents: 1, currency: 'EUR', stock: 1 },
    });
    await http('GET', `/api/v1/products/${created.body.id}`, { headers: { 'x-min-position': created.body.position } });
    const status = JSON.parse(await cli('projections', 'status', '--json')) as Array<Record<string, unknown>>;
    expect(status.map((s) => s.projection)).toEqual(['catalog', 'orders', 'sales', 'webhooks']);
    expect(status[0]).toMatchObject({
      appliedPosition: created.body.position,
      headPosition: created.body.position,
      lagEvents: 0,
      deadLetters: 0,
    });
  });

  it('lists, shows, replays and discards dead letters, logging each action', async () => {
    const topology = new ProjectionTopology(
      env.exchange,
      env.queuePrefix,
      'orders',
      ordersProjectionEvents,
      [100, 200],
    );
    for (const id of ['dead-1', 'dead-2']) {
      channel.publish(env.exchange, 'ordering.order.paid', Buffer.from('not json'), {
        messageId: id,
        persistent: true,
      });
    }
    await poll(
      async () => (await channel.checkQueue(topology.deadLetterQueue)).messageCount,
      (n) => n === 2,
      {
        what: 'two dead letters',
      },
    );

    const listed = JSON.parse(await cli('dlq', 'list', 'orders', '--json')) as Array<{
      messageId: string;
      error: string;
      attempts: number;
    }>;
    expect(listed.map((l) => l.messageId).sort()).toEqual(['dead-1', 'dead-2']);
    expect(listed[0]).toMatchObject({ attempts: 1, error: expect.stringMatching(/not valid JSON/) });
    expect(JSON.parse(await cli('dlq', 'show', 'orders', 'dead-1'))).toMatchObject({
      messageId: 'dead-1',
      body: 'not json',
    });

    // Replayed poison comes back to the DLQ (it is still poison), with its attempts counted afresh.
    const replayed = await cli('dlq', 'replay', 'orders', 'dead-1');
    expect(replayed).toMatch(/replayed dead-1 \(ordering\.order\.paid\) of orders: body is not valid JSON/);
    await poll(
      async () => (await channel.checkQueue(topology.deadLetterQueue)).messageCount,
      (n) => n === 2,
      {
        what: 'the replayed poison to be parked again',
      },
    );

    const discarded = await cli('dlq', 'discard', 'orders', '--all');
    expect(discarded).toMatch(/discarded dead-1/);
    expect(discarded).toMatch(/discarded 2/);
    expect((await channel.checkQueue(topology.deadLetterQueue)).messageCount).toBe(0);
  });

  it('rebuilds a projection from event_log beside the live one and swaps it in, while queries keep answering', async () => {
    const http = httpClient(api.url);
    const token = (await http('POST', '/api/v1/auth/login', { body: ADMIN })).body.accessToken as string;
    let last = { id: '', position: '' };
    for (let i = 0; i < 40; i++) {
      last = (
        await http('POST', '/api/v1/products', {
          token,
          body: {
            sku: `REBUILD-${i}`,
            name: `Rebuilt ${i}`,
            category: 'rebuild',
            priceCents: 100 + i,
            currency: 'EUR',
            stock: 5,
          },
        })
      ).body;
    }
    await http('GET', `/api/v1/products/${last.id}`, { headers: { 'x-min-position': last.position } });
    const db = new pg.Client({ connectionString: env.databaseUrl });
    await db.connect();
    try {
      // Damage the live read model the way a bug would.
      await db.query("update read_catalog_products set name = 'corrupted', price_cents = 0 where category = 'rebuild'");

      let answering = true;
      const failures: number[] = [];
      const reader = (async () => {
        while (answering) {
          const response = await http('GET', '/api/v1/products?category=rebuild&limit=5');
          if (response.status !== 200) failures.push(response.status);
        }
      })();
      // A subscription without a read model (webhooks) is refused by name, before anything starts.
      await expect(cli('projections', 'rebuild', 'webhooks')).rejects.toMatchObject({
        stderr: expect.stringMatching(/"webhooks" has no read model to rebuild: one of catalog, orders, sales/),
      });
      const output = await cli('projections', 'rebuild', 'catalog');
      answering = false;
      await reader;

      expect(output).toMatch(/catalog: \d+\/\d+ events, \d+\/s, ETA \d+ s/);
      expect(output).toMatch(/rebuilt catalog from \d+ events and swapped it in/);
      expect(failures).toEqual([]);
      const { rows } = await db.query("select count(*)::int as n from read_catalog_products where name = 'corrupted'");
      expect(rows[0].n).toBe(0);
      const { rows: indexes } = await db.query(
        "select indexname from pg_indexes where schemaname = 'public' and tablename = 'read_catalog_products' order by 1",
      );
      expect(indexes.map((r: { indexname: string }) => r.indexname)).toEqual(
        expect.arrayContaining([
          'read_catalog_products_pkey',
          'read_catalog_products_search_idx',
          'read_catalog_products_category_price_idx',
        ]),
      );
      const { rows: schemas } = await db.query(
        "select count(*)::int as n from pg_namespace where nspname like 'rebuild_%'",
      );
      expect(schemas[0].n).toBe(0);
    } finally {
      await db.end();
    }
    // Live projection keeps working on the swapped table, and equals a rebuild from the log.
    const after = (
      await http('POST', '/api/v1/products', {
        token,
        body: { sku: 'REBUILD-AFTER', name: 'After', category: 'rebuild', priceCents: 1, currency: 'EUR', stock: 1 },
      })
    ).body;
    expect(
      (await http('GET', `/api/v1/products/${after.id}`, { headers: { 'x-min-position': after.position } })).status,
    ).toBe(200);
    const report = await compareWithRebuild(env.databaseUrl);
    expect(report.differences).toEqual({});
    expect(report.doubleApplied).toBe(0);
  });
});
