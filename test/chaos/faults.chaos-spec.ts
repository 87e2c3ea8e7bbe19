/** @requires-services PostgreSQL RabbitMQ (see jest.config.js) */
import { connect } from 'amqplib';
import pg from 'pg';
import { toEnvelope, type EventRow } from '@emporium/domain';
import {
  AnswerLog,
  allEntities,
  compareWithRebuild,
  deliveriesInFlight,
  describeExit,
  isolatedEnvironment,
  isRunning,
  loggedErrors,
  OrderLoad,
  poll,
  postgresCluster,
  rabbitmqctl,
  recordingClient,
  requireServices,
  SERVICE_URLS,
  startApp,
  unappliedEvents,
  type IsolatedEnvironment,
  type RebuildReport,
  type RunningApp,
  type ServerFault,
} from '@emporium/testing';

/**
 * Faults injected one at a time while 16 concurrent customers place, pay and cancel orders (every
 * command with an Idempotency-Key, retried with the same key until an api answers something
 * final), each fault followed by one checker:
 * - every process the fault did not deliberately kill is still running;
 * - no answer was a 5xx other than a 503 with Retry-After, at any time;
 * - every acknowledged command is in the write and read models, every event is applied exactly
 *   once per projection, and the read models equal a rebuild from event_log;
 * - every order belongs to exactly one completed Idempotency-Key (a retried key never places a
 *   second order), and the order a client was told about is the one stored under its key;
 * - the dead-letter queues hold exactly the poison that was sent.
 */
const SUITE = 'delivery guarantees under faults, under load';
describe(SUITE, () => {
  let env: IsolatedEnvironment;
  let api: RunningApp;
  const projectors: RunningApp[] = [];
  const ADMIN = { email: 'admin@example.com', password: 'staff-passphrase-for-tests' };
  const CUSTOMERS = 8;
  const PRODUCTS = 16;
  const appEnv = (extra: Record<string, string> = {}): Record<string, string> => ({
    ...env.env,
    ADMIN_EMAIL: ADMIN.email,
    ADMIN_PASSWORD: ADMIN.password,
    RELAY_SWEEP_INTERVAL_MS: '200',
    // A killed api leaves its Idempotency-Key claims behind; a short lease lets retries take over.
    REQUEST_TIMEOUT_MS: '3000',
    // 16 clients from one address, retrying through outages: the per-address limit must not throttle them.
    RATE_LIMIT_DEFAULT: '10000000',
    ...extra,
  });

  const answers = new AnswerLog();
  const http = recordingClient(() => api.url, answers);
  const products: string[] = [];
  const tokens: string[] = [];
  let adminToken = '';
  let load: OrderLoad;

  interface Row {
    fault: string;
    /** Deliveries handed to consumers and not yet acked when the fault was injected ('' = not measured). */
    inFlight: number | '';
    /** HTTP commands sent and not yet answered when the fault was injected. */
    requestsInFlight: number | '';
    acknowledged: number;
    refused: number;
    lost: number;
    doubled: number;
    http5xx: number;
    http503: number;
    recoverSeconds: number;
  }
  const table: Row[] = [];
  const expectedPoison: Record<string, Set<string>> = { catalog: new Set(), orders: new Set(), sales: new Set() };
  let acknowledgedBefore = 0;
  let refusedBefore = 0;
  let answersMark = answers.mark();
  /** Processes found dead outside a checker (reported by the next one). */
  const pendingDeaths: string[] = [];
  /** Apis replaced since the last checker: their logs explain the 500s they answered. */
  let retiredApis: RunningApp[] = [];
  const logOffsets = new Map<RunningApp, number>();
  let brokerStopped = false;

  /**
   * Deliveries handed to consumers and not yet acked, polled until there are some: the fault is
   * injected right after, into work under way (the count is a snapshot taken about a second
   * before, as rabbitmqctl is slow).
   */
  const inFlightNow = (): Promise<number> =>
    poll(
      () => deliveriesInFlight(env.queuePrefix),
      (n) => n > 0,
      { timeoutMs: 30_000, intervalMs: 0, what: 'deliveries in flight under load' },
    );

  /**
   * Keeps the load running for at least `ms` and until it made progress (`ms / 100` more
   * acknowledged commands). Fails at once if the api died on its own: nothing would progress.
   */
  const loadFor = async (ms: number): Promise<void> => {
    const start = Date.now();
    const before = load.acknowledged.size;
    const minimum = Math.max(3, ms / 100);
    const state = await poll(
      async () => ({ elapsed: Date.now() - start, progress: load.acknowledged.size - before, apiUp: isRunning(api) }),
      (s) => !s.apiUp || (s.elapsed >= ms && s.progress >= minimum),
      { timeoutMs: ms + 60_000, intervalMs: 50, what: `the load to run for ${ms} ms and progress` },
    );
    if (!state.apiUp) throw new Error(`the api died under load: ${describeExit('api', api)}`);
  };

  // ---- processes ----------------------------------------------------------------------------------
  const replaceApi = async (signal: NodeJS.Signals): Promise<void> => {
    await api.stop(signal);
    retiredApis.push(api);
    api = await startApp('api', appEnv());
  };

  /** Replaces every process that died without being told to; describes how each one ended. */
  async function replaceDead(): Promise<string[]> {
    const died: string[] = [];
    if (!isRunning(api)) {
      died.push(describeExit('api', api));
      retiredApis.push(api);
      api = await startApp('api', appEnv());
    }
    for (const [i, projector] of projectors.entries()) {
      if (isRunning(projector)) continue;
      died.push(describeExit(`projector ${i}`, projector));
      projectors[i] = await startApp('projector', appEnv());
    }
    return died;
  }

  const newOutput = (app: RunningApp): string => {
    const all = app.output();
    const from = logOffsets.get(app) ?? 0;
    logOffsets.set(app, all.length);
    return all.slice(from);
  };

  // ---- checker ----------------------------------------------------------------------------------
  const countOf = async (sql: string): Promise<number> => {
    const client = new pg.Client({ connectionString: env.databaseUrl });
    await client.connect();
    try {
      return (await client.query<{ n: number }>(sql)).rows[0].n;
    } finally {
      await client.end();
    }
  };

  /** Acknowledged commands whose effect is not in the orders read model. */
  async function lostCommands(db: pg.Client): Promise<string[]> {
    const orders = [...new Set([...load.acknowledged.values()].map((a) => a.orderId))];
    const { rows } = await db.query<{ id: string; status: string }>(
      'select id, status from read_orders where id = any($1)',
      [orders],
    );
    const status = new Map(rows.map((r) => [r.id, r.status]));
    const lost: string[] = [];
    for (const [key, a] of load.acknowledged) {
      const seen = status.get(a.orderId);
      if (!seen || (a.kind === 'pay' && seen === 'placed') || (a.kind === 'cancel' && seen !== 'cancelled')) {
        lost.push(`${key}: order ${a.orderId} is ${seen ?? 'not in read_orders'}`);
      }
    }
    return lost;
  }

  /**
   * Exactly one order per place key: every order belongs to one completed key, every completed
   * key to an order, and the order each client was told about is the one stored under its key.
   */
  async function idempotencyViolations(db: pg.Client): Promise<string[]> {
    const { rows } = await db.query<{ problem: string; item: string }>(`
      with keys as (
        select key, (response_body->>'id')::uuid as order_id from idempotency_keys
        where method = 'POST' and path = '/api/v1/orders' and status_code = 201)
      (select 'order without a completed place key' as problem, o.id::text as item from orders o
        where not exists (select 1 from keys k where k.order_id = o.id) limit 10)
      union all
      (select 'completed place key without its order', k.key from keys k
        where not exists (select 1 from orders o where o.id = k.order_id) limit 10)
      union all
      (select 'order stored under two keys', k.order_id::text from keys k group by k.order_id having count(*) > 1 limit 10)`);
    const violations = rows.map((r) => `${r.problem}: ${r.item}`);
    const stored = new Map(
      (
        await db.query<{ key: string; id: string }>(
          `select key, response_body->>'id' as id from idempotency_keys
           where method = 'POST' and path = '/api/v1/orders' and status_code = 201`,
        )
      ).rows.map((r) => [r.key, r.id]),
    );
    for (const [key, a] of load.acknowledged) {
      if (a.kind !== 'place' || stored.get(key) === a.orderId) continue;
      violations.push(`${key}: the client was given order ${a.orderId}, the key holds ${stored.get(key) ?? 'nothing'}`);
    }
    return violations.slice(0, 20);
  }

  /** Dead-letter queues whose messages are not exactly the poison sent. */
  async function deadLetterDifferences(): Promise<Array<{ projection: string; ids: string[]; expected: string[] }>> {
    const connection = await connect(SERVICE_URLS.amqp);
    const differences: Array<{ projection: string; ids: string[]; expected: string[] }> = [];
    try {
      for (const [projection, poison] of Object.entries(expectedPoison)) {
        const channel = await connection.createChannel();
        const ids: string[] = [];
        for (;;) {
          const message = await channel.get(`${env.queuePrefix}.${projection}.dlq`, { noAck: false });
          if (!message) break;
          ids.push(String(message.properties.messageId));
        }
        await channel.close(); // un-acked: they stay in the DLQ
        const expected = [...poison].sort();
        if (JSON.stringify(ids.sort()) !== JSON.stringify(expected)) differences.push({ projection, ids, expected });
      }
    } finally {
      await connection.close();
    }
    return differences;
  }

  const summarise = (faults: ServerFault[]): string[] => {
    const counts = new Map<string, number>();
    for (const f of faults) {
      const line = `${f.status} ${f.method} ${f.path} ${f.code ?? ''}: ${f.detail ?? ''} (during ${f.phase})`;
      counts.set(line, (counts.get(line) ?? 0) + 1);
    }
    return [...counts].map(([line, n]) => `${n}× ${line}`);
  };

  async function check(
    fault: string,
    started: number,
    measured: { inFlight?: number; requestsInFlight?: number } = {},
  ): Promise<void> {
    answers.phase = `${fault}: recovery`;
    const died = [...pendingDeaths.splice(0), ...(await replaceDead())];
    const timeouts: string[] = [];
    let recoverSeconds: number;
    let report: RebuildReport;
    let lost: string[];
    let idempotency: string[];
    let deadLetters: Awaited<ReturnType<typeof deadLetterDifferences>>;
    try {
      await load.stop();
      await poll(
        () => countOf('select count(*)::int as n from event_log where published_at is null'),
        (n) => n === 0,
        { timeoutMs: 60_000, intervalMs: 200, what: `the outbox to drain after ${fault}` },
      ).catch((error: Error) => timeouts.push(error.message));
      const caughtUp = await poll(
        () => unappliedEvents(env.databaseUrl),
        (missing) => missing.length === 0,
        { timeoutMs: 60_000, intervalMs: 200, what: 'every projection to catch up' },
      ).then(
        () => true,
        () => false,
      );
      recoverSeconds = (Date.now() - started) / 1000;
      if (!caughtUp) timeouts.push(`the projections did not catch up within 60 s after ${fault}`);
      report = await compareWithRebuild(env.databaseUrl);
      const db = new pg.Client({ connectionString: env.databaseUrl });
      await db.connect();
      try {
        lost = await lostCommands(db);
        idempotency = await idempotencyViolations(db);
      } finally {
        await db.end();
      }
      deadLetters = await deadLetterDifferences();
    } finally {
      answers.phase = `after ${fault}`;
      load.start();
    }
    const { serverErrors, unavailable } = answers.since(answersMark);
    answersMark = answers.mark();
    const apiLogs = [...retiredApis, api].map(newOutput).join('\n');
    retiredApis = [];
    const unanswered = load.unanswered.splice(0);
    table.push({
      fault,
      inFlight: measured.inFlight ?? '',
      requestsInFlight: measured.requestsInFlight ?? '',
      acknowledged: load.acknowledged.size - acknowledgedBefore,
      refused: load.refused.length - refusedBefore,
      lost: lost.length + report.missing.length,
      doubled: report.doubleApplied,
      http5xx: serverErrors.length,
      http503: unavailable,
      recoverSeconds,
    });
    acknowledgedBefore = load.acknowledged.size;
    refusedBefore = load.refused.length;
    expect({
      fault,
      died,
      serverErrors: summarise(serverErrors),
      // What the api logged, to explain its 500s (their problem detail says nothing, by design).
      ...(serverErrors.length ? { apiErrorsLogged: loggedErrors(apiLogs) } : {}),
      unanswered: unanswered.slice(0, 10),
      timeouts,
      lost: lost.slice(0, 10),
      missing: report.missing.slice(0, 10),
      doubled: report.doubleApplied,
      differences: report.differences,
      idempotency,
      deadLetters,
    }).toEqual({
      fault,
      died: [],
      serverErrors: [],
      unanswered: [],
      timeouts: [],
      lost: [],
      missing: [],
      doubled: 0,
      differences: {},
      idempotency: [],
      deadLetters: [],
    });
  }

  // ---- setup ----------------------------------------------------------------------------------
  beforeAll(async () => {
    await requireServices();
    env = await isolatedEnvironment('chaos', allEntities);
    api = await startApp('api', appEnv());
    projectors.push(await startApp('projector', appEnv()), await startApp('projector', appEnv()));
    adminToken = (await http('POST', '/api/v1/auth/login', { body: ADMIN })).body.accessToken as string;
    for (let i = 0; i < PRODUCTS; i++) {
      const created = await http('POST', '/api/v1/products', {
        token: adminToken,
        body: {
          sku: `CHAOS-${i}`,
          name: `Chaos ${i}`,
          category: 'chaos',
          priceCents: 100 + i,
          currency: 'EUR',
          stock: 1_000_000,
        },
      });
      expect(created.status).toBe(201);
      products.push(created.body.id);
    }
    for (let i = 0; i < CUSTOMERS; i++) {
      const email = `chaos-${i}@example.com`;
      const password = 'chaos-customer-passphrase';
      expect(
        (await http('POST', '/api/v1/auth/register', { body: { email, password, name: `Chaos ${i}` } })).status,
      ).toBe(201);
      tokens.push((await http('POST', '/api/v1/auth/login', { body: { email, password } })).body.accessToken as string);
    }
    load = new OrderLoad({ apiUrl: () => api.url, tokens, products, log: answers, workers: 16 });
    load.start();
    await loadFor(1000);
  }, 120_000);

  beforeEach(async () => {
    // A fault that failed before its checker may have left a process dead or the load stopped.
    pendingDeaths.push(...(await replaceDead()));
    load.start();
    answers.phase = (expect.getState().currentTestName ?? 'a fault').replace(`${SUITE} `, '');
  }, 60_000);

  afterAll(async () => {
    if (brokerStopped) await rabbitmqctl('start_app').catch(() => undefined);
    await load?.stop().catch(() => undefined);
    for (const p of [api, ...projectors]) await p?.stop('SIGKILL').catch(() => undefined);
    console.table(table);
    await env?.dispose();
  }, 120_000);

  // ---- faults ----------------------------------------------------------------------------------
  it('kill -9 of a projector mid-batch', async () => {
    const started = Date.now();
    const inFlight = await inFlightNow();
    await projectors[0].stop('SIGKILL');
    projectors[0] = await startApp('projector', appEnv());
    await loadFor(1000);
    await check('kill -9 projector', started, { inFlight });
  }, 180_000);

  it('kill -9 of the api mid-load: clients retry the same keys on its replacement', async () => {
    const started = Date.now();
    const inFlight = await inFlightNow();
    const requestsInFlight = await poll(
      async () => load.requestsInFlight,
      (n) => n >= 8,
      { what: 'commands in flight' },
    );
    await replaceApi('SIGKILL');
    await loadFor(1500);
    await check('kill -9 api', started, { inFlight, requestsInFlight });
  }, 180_000);

  it('relay crashes after the broker confirmed, before marking published', async () => {
    const started = Date.now();
    const requestsInFlight = load.requestsInFlight;
    await api.stop('SIGKILL');
    retiredApis.push(api);
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
      retiredApis.push(crashing);
    }
    api = await startApp('api', appEnv());
    await loadFor(1000);
    await check('relay crash after confirm', started, { requestsInFlight });
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
          { timeoutMs: 30_000, what: `the ${point} crash` },
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
    const inFlight = await inFlightNow();
    await rabbitmqctl('close_all_connections', 'chaos');
    await loadFor(1500);
    await check('close_all_connections', started, { inFlight });
  }, 180_000);

  it('broker stop_app and start_app with at least 50 deliveries in flight', async () => {
    const started = Date.now();
    // Build the backlog honestly: the projectors stop acking while the relay keeps delivering.
    for (const p of projectors) p.process.kill('SIGSTOP');
    let inFlight: number;
    try {
      inFlight = await poll(
        () => deliveriesInFlight(env.queuePrefix),
        (n) => n >= 50,
        {
          timeoutMs: 60_000,
          intervalMs: 0,
          what: 'at least 50 deliveries in flight to the stopped projectors',
        },
      );
    } finally {
      for (const p of projectors) p.process.kill('SIGCONT');
    }
    brokerStopped = true;
    await rabbitmqctl('stop_app');
    try {
      await loadFor(2000);
    } finally {
      await rabbitmqctl('start_app');
      brokerStopped = false;
    }
    await loadFor(1000);
    await check('broker stop/start', started, { inFlight });
  }, 180_000);

  it('PostgreSQL restart', async () => {
    const started = Date.now();
    const inFlight = await inFlightNow();
    const requestsInFlight = load.requestsInFlight;
    await postgresCluster('restart');
    await loadFor(1500);
    await check('postgres restart', started, { inFlight, requestsInFlight });
  }, 180_000);

  it('pg_terminate_backend of idle connections', async () => {
    const started = Date.now();
    const inFlight = await inFlightNow();
    const client = new pg.Client({ connectionString: env.databaseUrl });
    await client.connect();
    await client.query(
      "select pg_terminate_backend(pid) from pg_stat_activity where datname = current_database() and state = 'idle' and pid <> pg_backend_pid()",
    );
    await client.end();
    await loadFor(1000);
    await check('terminate idle connections', started, { inFlight });
  }, 180_000);

  it('SIGSTOP and SIGCONT of a projector', async () => {
    const started = Date.now();
    const inFlight = await inFlightNow();
    projectors[0].process.kill('SIGSTOP');
    try {
      await loadFor(1500);
    } finally {
      projectors[0].process.kill('SIGCONT');
    }
    await loadFor(500);
    await check('SIGSTOP/SIGCONT projector', started, { inFlight });
  }, 180_000);

  it('duplicate and out-of-order deliveries published by hand', async () => {
    const started = Date.now();
    const client = new pg.Client({ connectionString: env.databaseUrl });
    await client.connect();
    const { rows } = await client.query('select * from event_log order by position desc limit 60');
    await client.end();
    const amqp = await connect(SERVICE_URLS.amqp);
    try {
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
    } finally {
      await amqp.close();
    }
    await loadFor(500);
    await check('duplicates and reordering', started);
  }, 180_000);

  it('a long transaction that commits after later positions', async () => {
    const started = Date.now();
    const client = new pg.Client({ connectionString: env.databaseUrl });
    await client.connect();
    try {
      const quiet = await http('POST', '/api/v1/products', {
        token: adminToken,
        body: { sku: 'CHAOS-LONG', name: 'Long', category: 'chaos', priceCents: 1, currency: 'EUR', stock: 1 },
      });
      await client.query('begin');
      const { rows } = await client.query<{ version: number; stock: number }>(
        'update products set stock = stock + 1, stream_version = stream_version + 1 where id = $1 returning stream_version as version, stock',
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
    const amqp = await connect(SERVICE_URLS.amqp);
    try {
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
          const c = await amqp.createChannel();
          const depths = await Promise.all(
            ['catalog', 'orders', 'sales'].map((p) => c.checkQueue(`${env.queuePrefix}.${p}.dlq`)),
          );
          await c.close();
          return depths.map((d) => d.messageCount);
        },
        (d) => d[0] === 1 && d[1] === 2 && d[2] === 1,
        { what: 'the poison in the dead-letter queues' },
      );
    } finally {
      await amqp.close();
    }
    await check('poison messages', started);
  }, 180_000);
});
