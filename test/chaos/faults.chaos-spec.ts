/** @requires-services PostgreSQL RabbitMQ (see jest.config.js) */
import { execFileSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { connect, type Channel, type ChannelModel } from 'amqplib';
import pg from 'pg';
import { toEnvelope, type EventRow } from '@emporium/domain';
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

/**
 * Faults injected one at a time under a steady load of place/pay/cancel commands, each followed
 * by one checker: every acknowledged command is in the write and read models, every event is
 * applied exactly once per projection, read models equal a rebuild from event_log, and the
 * dead-letter queues hold exactly the poison that was sent.
 */
describe('delivery guarantees under faults', () => {
  let env: IsolatedEnvironment;
  let api: RunningApp;
  const projectors: RunningApp[] = [];
  let amqp: ChannelModel | undefined;
  const ADMIN = { email: 'admin@example.com', password: 'staff-passphrase-for-tests' };
  const appEnv = (extra: Record<string, string> = {}): Record<string, string> => ({
    ...env.env,
    ADMIN_EMAIL: ADMIN.email,
    ADMIN_PASSWORD: ADMIN.password,
    RELAY_SWEEP_INTERVAL_MS: '200',
    // A killed api leaves its Idempotency-Key claims behind; a short lease lets retries take over.
    REQUEST_TIMEOUT_MS: '3000',
    ...extra,
  });
  const table: Array<{ fault: string; acknowledged: number; lost: number; doubled: number; recoverSeconds: number }> =
    [];
  const expectedPoison: Record<string, Set<string>> = { catalog: new Set(), orders: new Set(), sales: new Set() };
  let acknowledgedBefore = 0;

  // ---- load ----------------------------------------------------------------------------------
  const acknowledged = new Map<string, { kind: string; orderId: string }>();
  const fiveXxWhileBrokerDown: string[] = [];
  let brokerDown = false;
  let loadRunning = false;
  let workers: Array<Promise<void>> = [];
  const products: string[] = [];
  const tokens: string[] = [];
  let sequence = 0;

  async function command(
    path: string,
    token: string,
    key: string,
    body: unknown,
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
  ): Promise<{ status: number; body: any }> {
    // Retry with the same key until an api answers something final; a replay never doubles it.
    for (;;) {
      try {
        const response = await httpClient(api.url)('POST', path, { token, body, headers: { 'idempotency-key': key } });
        if (response.status >= 500 && brokerDown) fiveXxWhileBrokerDown.push(`${path} ${response.status}`);
        if (response.status === 409 && response.body?.code === 'idempotency-key-in-progress') throw new Error('retry');
        if (response.status >= 500 || response.status === 429) throw new Error('retry');
        return response;
      } catch {
        if (!loadRunning && !key.startsWith('finish')) return { status: 0, body: undefined };
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    }
  }

  async function worker(n: number): Promise<void> {
    while (loadRunning) {
      const i = sequence++;
      const token = tokens[n % tokens.length];
      const placed = await command('/api/v1/orders', token, `place-${i}`, {
        lines: [{ productId: products[i % products.length], quantity: 1 }],
      });
      if (placed.status !== 201) continue;
      acknowledged.set(`place-${i}`, { kind: 'place', orderId: placed.body.id });
      const next = i % 3 === 0 ? 'pay' : i % 3 === 1 ? 'cancel' : undefined;
      if (!next) continue;
      const changed = await command(`/api/v1/orders/${placed.body.id}/${next}`, token, `${next}-${i}`, {});
      if (changed.status === 200) acknowledged.set(`${next}-${i}`, { kind: next, orderId: placed.body.id });
    }
  }

  function startLoad(): void {
    loadRunning = true;
    workers = [0, 1, 2, 3].map((n) => worker(n));
  }

  async function stopLoad(): Promise<void> {
    loadRunning = false;
    await Promise.all(workers);
  }

  const loadFor = async (ms: number): Promise<void> => {
    const before = acknowledged.size;
    await poll(
      async () => acknowledged.size,
      (n) => n >= before + Math.max(3, ms / 100),
      { timeoutMs: ms * 20, what: 'load to progress' },
    );
  };

  // ---- processes ----------------------------------------------------------------------------------
  const restartProjector = async (
    index: number,
    extra: Record<string, string> = {},
    signal: NodeJS.Signals = 'SIGKILL',
  ): Promise<void> => {
    await projectors[index]?.stop(signal);
    projectors[index] = await startApp('projector', appEnv(extra));
  };

  // ---- checker ----------------------------------------------------------------------------------
  async function check(fault: string, started: number): Promise<void> {
    await stopLoad();
    const db = new pg.Client({ connectionString: env.databaseUrl });
    await poll(
      async () => {
        const client = new pg.Client({ connectionString: env.databaseUrl });
        await client.connect();
        try {
          return (await client.query('select count(*)::int as n from event_log where published_at is null')).rows[0]
            .n as number;
        } finally {
          await client.end();
        }
      },
      (n) => n === 0,
      { timeoutMs: 60_000, intervalMs: 200, what: `the outbox to drain after ${fault}` },
    );
    const report = await poll(
      () => compareWithRebuild(env.databaseUrl),
      (r) => r.missing.length === 0,
      {
        timeoutMs: 60_000,
        intervalMs: 500,
        what: `every projection to catch up after ${fault}`,
      },
    );
    const recoverSeconds = (Date.now() - started) / 1000;
    await db.connect();
    let lost = 0;
    try {
      const orders = [...new Set([...acknowledged.values()].map((a) => a.orderId))];
      const { rows } = await db.query<{ id: string; status: string }>(
        'select id, status from read_orders where id = any($1)',
        [orders],
      );
      const status = new Map(rows.map((r) => [r.id, r.status]));
      for (const [key, a] of acknowledged) {
        const seen = status.get(a.orderId);
        if (!seen) lost += 1;
        else if (a.kind === 'pay' && seen === 'placed') lost += 1;
        else if (a.kind === 'cancel' && seen !== 'cancelled') lost += 1;
        void key;
      }
    } finally {
      await db.end();
    }
    table.push({
      fault,
      acknowledged: acknowledged.size - acknowledgedBefore,
      lost: lost + report.missing.length,
      doubled: report.doubleApplied,
      recoverSeconds,
    });
    acknowledgedBefore = acknowledged.size;
    // Nothing crashed on its own: every process not deliberately killed is still running.
    for (const app of [api, ...projectors]) {
      expect(app.process.exitCode === null && app.process.signalCode === null).toBe(true);
    }
    expect({
      fault,
      lost,
      missing: report.missing,
      doubled: report.doubleApplied,
      differences: report.differences,
    }).toEqual({
      fault,
      lost: 0,
      missing: [],
      doubled: 0,
      differences: {},
    });
    await checkDeadLetters();
    startLoad();
  }

  async function checkDeadLetters(): Promise<void> {
    const connection = await connect(SERVICE_URLS.amqp);
    try {
      for (const [projection, expected] of Object.entries(expectedPoison)) {
        const channel: Channel = await connection.createChannel();
        const ids: string[] = [];
        for (;;) {
          const message = await channel.get(`${env.queuePrefix}.${projection}.dlq`, { noAck: false });
          if (!message) break;
          ids.push(String(message.properties.messageId));
        }
        await channel.close(); // un-acked: they stay in the DLQ
        expect({ projection, ids: ids.sort() }).toEqual({ projection, ids: [...expected].sort() });
      }
    } finally {
      await connection.close();
    }
  }

  const rabbitmqctl = (...args: string[]): void => {
    execFileSync('rabbitmqctl', ['-q', ...args], { stdio: 'ignore', timeout: 60_000 });
  };
  const pgCluster = (action: 'restart'): void => {
    const version = readdirSync('/etc/postgresql')[0];
    execFileSync('pg_ctlcluster', ['--skip-systemctl-redirect', version, 'main', action], {
      stdio: 'ignore',
      timeout: 60_000,
    });
  };

  // ---- setup ----------------------------------------------------------------------------------
  beforeAll(async () => {
    await requireServices();
    env = await isolatedEnvironment('chaos', allEntities);
    api = await startApp('api', appEnv());
    projectors.push(await startApp('projector', appEnv()), await startApp('projector', appEnv()));
    const http = httpClient(api.url);
    const admin = (await http('POST', '/api/v1/auth/login', { body: ADMIN })).body.accessToken as string;
    for (let i = 0; i < 8; i++) {
      const created = await http('POST', '/api/v1/products', {
        token: admin,
        body: {
          sku: `CHAOS-${i}`,
          name: `Chaos ${i}`,
          category: 'chaos',
          priceCents: 100 + i,
          currency: 'EUR',
          stock: 1_000_000,
        },
      });
      products.push(created.body.id);
    }
    for (let i = 0; i < 4; i++) {
      const email = `chaos-${i}@example.com`;
      await http('POST', '/api/v1/auth/register', {
        body: { email, password: 'chaos-customer-passphrase', name: `Chaos ${i}` },
      });
      tokens.push(
        (await http('POST', '/api/v1/auth/login', { body: { email, password: 'chaos-customer-passphrase' } })).body
          .accessToken as string,
      );
    }
    startLoad();
    await loadFor(500);
  }, 120_000);

  afterAll(async () => {
    await stopLoad().catch(() => undefined);
    for (const p of [api, ...projectors]) await p?.stop('SIGKILL').catch(() => undefined);
    await amqp?.close().catch(() => undefined);
    console.table(table);
    await env?.dispose();
  }, 60_000);

  // ---- faults ----------------------------------------------------------------------------------
  it('kill -9 of a projector mid-batch', async () => {
    const started = Date.now();
    await restartProjector(0);
    await loadFor(1000);
    await check('kill -9 projector', started);
  }, 180_000);

  it('relay crashes after the broker confirmed, before marking published', async () => {
    const started = Date.now();
    await api.stop('SIGKILL');
    // It may crash while starting (events are pending): either way it must die at the crash point.
    const crashing = await startApp('api', appEnv({ CRASH_AT: 'relay-after-confirm' })).catch((error: Error) => {
      expect(error.message).toMatch(/api exited with null/); // killed by its own SIGKILL while starting
      return undefined;
    });
    if (crashing) {
      api = crashing;
      await poll(
        async () => crashing.process.signalCode,
        (signal) => signal === 'SIGKILL',
        { what: 'the relay crash' },
      );
    }
    api = await startApp('api', appEnv());
    await loadFor(1000);
    await check('relay crash after confirm', started);
  }, 180_000);

  it.each(['projector-after-commit', 'projector-mid-batch'])(
    'projector crash point %s',
    async (point) => {
      const started = Date.now();
      await projectors[1].stop('SIGTERM');
      const crashing = await startApp('projector', appEnv({ CRASH_AT: point })).catch((error: Error) => {
        expect(error.message).toMatch(/projector exited with null/);
        return undefined;
      });
      if (crashing) {
        await poll(
          async () => crashing.process.signalCode,
          (signal) => signal === 'SIGKILL',
          {
            timeoutMs: 30_000,
            what: `the ${point} crash`,
          },
        );
      }
      projectors[1] = await startApp('projector', appEnv());
      await loadFor(1000);
      await check(point, started);
    },
    180_000,
  );

  it('rabbitmqctl close_all_connections', async () => {
    const started = Date.now();
    rabbitmqctl('close_all_connections', 'chaos');
    await loadFor(1500);
    await check('close_all_connections', started);
  }, 180_000);

  it('broker stop and start: commands keep succeeding, no 5xx', async () => {
    const started = Date.now();
    brokerDown = true;
    rabbitmqctl('stop_app');
    try {
      await loadFor(2000);
    } finally {
      rabbitmqctl('start_app');
      brokerDown = false;
    }
    await loadFor(1000);
    expect(fiveXxWhileBrokerDown).toEqual([]);
    await check('broker stop/start', started);
  }, 180_000);

  it('PostgreSQL restart', async () => {
    const started = Date.now();
    pgCluster('restart');
    await loadFor(1500);
    await check('postgres restart', started);
  }, 180_000);

  it('pg_terminate_backend of idle connections', async () => {
    const started = Date.now();
    const client = new pg.Client({ connectionString: env.databaseUrl });
    await client.connect();
    await client.query(
      "select pg_terminate_backend(pid) from pg_stat_activity where datname = current_database() and state = 'idle' and pid <> pg_backend_pid()",
    );
    await client.end();
    await loadFor(1000);
    await check('terminate idle connections', started);
  }, 180_000);

  it('SIGSTOP and SIGCONT of a projector', async () => {
    const started = Date.now();
    projectors[0].process.kill('SIGSTOP');
    await loadFor(1500);
    projectors[0].process.kill('SIGCONT');
    await loadFor(500);
    await check('SIGSTOP/SIGCONT projector', started);
  }, 180_000);

  it('duplicate and out-of-order deliveries published by hand', async () => {
    const started = Date.now();
    const client = new pg.Client({ connectionString: env.databaseUrl });
    await client.connect();
    const { rows } = await client.query('select * from event_log order by position desc limit 60');
    await client.end();
    amqp = await connect(SERVICE_URLS.amqp);
    const channel = await amqp.createConfirmChannel();
    for (const copy of [0, 1]) {
      for (const row of copy ? [...rows].reverse() : rows) {
        const envelope = toEnvelope(row as EventRow);
        channel.publish(env.exchange, row.type, Buffer.from(JSON.stringify(envelope)), {
          messageId: row.id,
          type: row.type,
          persistent: true,
        });
      }
    }
    await channel.waitForConfirms();
    await channel.close();
    await loadFor(500);
    await check('duplicates and reordering', started);
  }, 180_000);

  it('a long transaction that commits after later positions', async () => {
    const started = Date.now();
    const client = new pg.Client({ connectionString: env.databaseUrl });
    await client.connect();
    try {
      const http = httpClient(api.url);
      const admin = (await http('POST', '/api/v1/auth/login', { body: ADMIN })).body.accessToken as string;
      const quiet = await http('POST', '/api/v1/products', {
        token: admin,
        body: { sku: 'CHAOS-LONG', name: 'Long', category: 'chaos', priceCents: 1, currency: 'EUR', stock: 1 },
      });
      await client.query('begin');
      const { rows } = await client.query<{ version: number; stock: number }>(
        'update products set stock = stock + 1, version = version + 1 where id = $1 returning version, stock',
        [quiet.body.id],
      );
      await client.query(
        `insert into event_log (id, type, schema_version, aggregate_type, aggregate_id, aggregate_version, occurred_at, payload, metadata)
         values (gen_random_uuid(), 'catalog.product.restocked', 1, 'Product', $1, $2, now(), $3, '{"actor":"chaos","correlationId":"c","causationId":"c"}')`,
        [quiet.body.id, rows[0].version, JSON.stringify({ quantity: 1, stock: rows[0].stock })],
      );
      await loadFor(1000); // later positions commit and are published meanwhile
      await client.query('commit');
    } finally {
      await client.end();
    }
    await check('late-committing transaction', started);
  }, 180_000);

  it('poison messages go to the dead-letter queues, and only they', async () => {
    const started = Date.now();
    amqp ??= await connect(SERVICE_URLS.amqp);
    const channel = await amqp.createConfirmChannel();
    const poison: Array<[string, string, Buffer, string[]]> = [
      ['poison-json', 'ordering.order.paid', Buffer.from('{not json'), ['orders']],
      ['poison-placed', 'ordering.order.placed', Buffer.from('[]'), ['orders', 'sales']],
      [
        'poison-forged',
        'catalog.product.restocked',
        Buffer.from(
          JSON.stringify({
            id: crypto.randomUUID(),
            type: 'catalog.product.restocked',
            schemaVersion: 1,
            aggregateType: 'Product',
            aggregateId: products[0],
            aggregateVersion: 999_999,
            position: '1',
            occurredAt: new Date().toISOString(),
            payload: { quantity: 1, stock: 1 },
            metadata: { actor: 'x', correlationId: 'x', causationId: 'x' },
          }),
        ),
        ['catalog'],
      ],
    ];
    for (const [id, key, body, projections] of poison) {
      channel.publish(env.exchange, key, body, { messageId: id, persistent: true });
      for (const p of projections) expectedPoison[p].add(id);
    }
    await channel.waitForConfirms();
    await channel.close();
    await loadFor(1000);
    await poll(
      async () => {
        const c = await amqp!.createChannel();
        const depths = await Promise.all(
          ['catalog', 'orders', 'sales'].map((p) => c.checkQueue(`${env.queuePrefix}.${p}.dlq`)),
        );
        await c.close();
        return depths.map((d) => d.messageCount);
      },
      (d) => d[0] === 1 && d[1] === 2 && d[2] === 1,
      { what: 'the poison in the dead-letter queues' },
    );
    await check('poison messages', started);
  }, 180_000);
});
