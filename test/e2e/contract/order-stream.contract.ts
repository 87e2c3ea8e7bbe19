import { createHash } from 'node:crypto';
import pg from 'pg';
import {
  httpClient,
  poll,
  requireServices,
  SseClient,
  startApp,
  startSystem,
  type HttpResponse,
  type RunningApp,
  type SystemMode,
  type SystemUnderTest,
} from '@emporium/testing';

const ADMIN = { email: 'admin@example.com', password: 'staff-passphrase-for-tests' };
const STREAM = '/api/v1/orders/stream';
const MAX_PER_USER = 2;
const REPLAY_MAX = 80;

/**
 * Live order updates (GET /api/v1/orders/stream, server-sent events) as clients see them, on a
 * running system in either mode: what arrives, in which order, to whom, how a stream resumes
 * after a disconnect, and how it is authenticated and limited.
 */
export function describeOrderStreamContract(mode: SystemMode): void {
  describe(`live order updates (${mode})`, () => {
    let system: SystemUnderTest;
    let db: pg.Pool;
    let stopped = false;
    let http: ReturnType<typeof httpClient>;
    let adminToken: string;
    let productId: string;
    const open: SseClient[] = [];

    const stream = async (headers: Record<string, string> = {}, query = '', baseUrl = system.apiUrl) => {
      const client = await SseClient.open(`${baseUrl}${STREAM}${query}`, headers);
      open.push(client);
      if (client.status === 200) {
        // The stream is registered before the first byte is sent.
        await client.waitFor((c) => c.comments.includes('connected'), Boolean, 'the stream to open');
      }
      return client;
    };
    const bearer = (token: string): Record<string, string> => ({ authorization: `Bearer ${token}` });

    let seq = 0;
    const newCustomer = async (): Promise<{ id: string; token: string }> => {
      seq += 1;
      const email = `stream${seq}-${crypto.randomUUID().slice(0, 6)}@example.com`;
      const password = 'a-long-enough-password';
      const registered = await http('POST', '/api/v1/auth/register', { body: { email, password, name: `S ${seq}` } });
      expect(registered.status).toBe(201);
      const login = await http('POST', '/api/v1/auth/login', { body: { email, password } });
      return { id: registered.body.id, token: login.body.accessToken };
    };
    const placeOrder = async (token: string): Promise<string> => {
      const placed = await http('POST', '/api/v1/orders', {
        token,
        body: { lines: [{ productId, quantity: 1 }] },
      });
      expect(placed.status).toBe(201);
      return placed.body.id as string;
    };
    const eventsOf = (client: SseClient, orderId: string) => client.changes().filter((e) => e.data.orderId === orderId);
    const expectProblem = (response: HttpResponse, status: number, code: string): void => {
      expect({ status: response.status, code: response.body?.code }).toEqual({ status, code });
    };

    beforeAll(async () => {
      if (mode === 'distributed') await requireServices();
      system = await startSystem(mode, `stream_${mode}`, {
        ADMIN_EMAIL: ADMIN.email,
        ADMIN_PASSWORD: ADMIN.password,
        DEMO_DATA: 'false',
        ORDER_STREAM_MAX_PER_USER: String(MAX_PER_USER),
        ORDER_STREAM_HEARTBEAT_MS: '300',
        ORDER_STREAM_REPLAY_MAX_EVENTS: String(REPLAY_MAX),
      });
      db = new pg.Pool({ connectionString: system.databaseUrl, max: 2 });
      http = httpClient(system.apiUrl);
      adminToken = (await http('POST', '/api/v1/auth/login', { body: ADMIN })).body.accessToken;
      const product = await http('POST', '/api/v1/products', {
        token: adminToken,
        body: {
          sku: `STREAM-${crypto.randomUUID().slice(0, 8)}`,
          name: 'Streamed',
          description: 'watched live',
          category: 'general',
          priceCents: 500,
          currency: 'EUR',
          stock: 100_000,
        },
      });
      expect(product.status).toBe(201);
      productId = product.body.id;
    });

    afterEach(() => {
      for (const client of open.splice(0)) client.close();
    });

    afterAll(async () => {
      if (!stopped) await db?.end();
      if (!stopped) await system?.stop();
    });

    it('sends place, pay and ship of a customer’s order, in order, as id/event/data', async () => {
      const customer = await newCustomer();
      const client = await stream(bearer(customer.token));
      expect(client.headers.get('content-type')).toMatch(/^text\/event-stream/);
      expect(client.retry).toBeGreaterThan(0);

      const orderId = await placeOrder(customer.token);
      expect((await http('POST', `/api/v1/orders/${orderId}/pay`, { token: customer.token })).status).toBe(200);
      expect((await http('POST', `/api/v1/orders/${orderId}/ship`, { token: adminToken })).status).toBe(200);

      const events = await client.waitFor(
        (c) => eventsOf(c, orderId),
        (e) => e.length >= 3,
        'placed, paid and shipped on the stream',
      );
      const { rows } = await db.query<{ position: string; occurred_at: Date }>(
        'select position::text as position, occurred_at from event_log where aggregate_id = $1 order by aggregate_version',
        [orderId],
      );
      expect(events).toEqual(
        ['placed', 'paid', 'shipped'].map((status, i) => ({
          id: rows[i].position,
          event: `ordering.order.${status}`,
          data: {
            orderId,
            status,
            version: i + 1,
            position: rows[i].position,
            occurredAt: rows[i].occurred_at.toISOString(),
          },
        })),
      );
    });

    it('shows a customer only their own orders, and an admin every order', async () => {
      const alice = await newCustomer();
      const bob = await newCustomer();
      const aliceStream = await stream(bearer(alice.token));
      const bobStream = await stream(bearer(bob.token));
      const adminStream = await stream(bearer(adminToken));

      const alicesOrder = await placeOrder(alice.token);
      // Bob's own order commits after Alice's: once Bob sees it, Alice's would have come first.
      const bobsOrder = await placeOrder(bob.token);
      await bobStream.waitFor(
        (c) => eventsOf(c, bobsOrder).length,
        (n) => n === 1,
        'bob’s own order',
      );
      await aliceStream.waitFor(
        (c) => eventsOf(c, alicesOrder).length,
        (n) => n === 1,
        'alice’s own order',
      );
      await adminStream.waitFor(
        (c) => [eventsOf(c, alicesOrder).length, eventsOf(c, bobsOrder).length],
        (n) => n[0] === 1 && n[1] === 1,
        'both orders on the admin stream',
      );
      expect(bobStream.changes().map((e) => e.data.orderId)).toEqual([bobsOrder]);
      expect(aliceStream.changes().map((e) => e.data.orderId)).toEqual([alicesOrder]);
    });

    it('resumes after a disconnect with Last-Event-ID, with no gap and no repeat, while orders keep coming', async () => {
      const customer = await newCustomer();
      const first = await stream(bearer(customer.token));
      let placing = true;
      const placed: string[] = [];
      const placer = (async () => {
        while (placing) placed.push(await placeOrder(customer.token));
      })();
      await first.waitFor(
        (c) => c.events.length,
        (n) => n >= 3,
        'a few orders on the first stream',
      );
      first.close();
      const resumeFrom = first.lastEventId!;
      const seenBefore = first.changes();
      // Orders keep being placed while the client is away and while it resumes.
      await poll(
        () => Promise.resolve(placed.length),
        (n) => n >= seenBefore.length + 3,
        { what: 'orders placed while disconnected' },
      );
      const second = await stream({ ...bearer(customer.token), 'last-event-id': resumeFrom });
      await second.waitFor(
        (c) => c.events.length,
        (n) => n >= 3,
        'events on the resumed stream',
      );
      placing = false;
      await placer;
      const expected = await db.query<{ position: string }>(
        `select position::text as position from event_log
          where type = 'ordering.order.placed' and payload->>'customerId' = $1`,
        [customer.id],
      );
      expect(expected.rows.length).toBe(placed.length);
      const received = await second.waitFor(
        (c) => [...seenBefore, ...c.changes()].map((e) => e.id!),
        (ids) => ids.length >= placed.length,
        'every order on one of the two streams',
      );
      // Every event exactly once across the seam, and nothing else.
      expect([...received].sort()).toEqual(expected.rows.map((r) => r.position).sort());
      expect(new Set(received).size).toBe(received.length);
      expect(second.changes()[0].id).not.toBe(resumeFrom);
    });

    it('starts over with a reset event when Last-Event-ID is unknown or too far back', async () => {
      const customer = await newCustomer();
      const unknown = await stream({ ...bearer(customer.token), 'last-event-id': '999999999999' });
      const [reset] = await unknown.waitFor(
        (c) => c.events,
        (e) => e.length >= 1,
        'a reset event',
      );
      expect(reset.event).toBe('reset');
      expect(JSON.parse(reset.data)).toEqual({ reason: 'unknown-position', position: reset.id });
      // A resume point older than ORDER_STREAM_REPLAY_MAX_AGE_MS (an event of no stream's type, two days old).
      const { rows } = await db.query<{ position: string }>(
        `insert into event_log (id, type, schema_version, aggregate_type, aggregate_id, aggregate_version,
           occurred_at, payload, metadata)
         values (gen_random_uuid(), 'test.clock.ticked', 1, 'Clock', gen_random_uuid(), 1, now() - interval '2 days',
           '{}', '{"actor":"test","correlationId":"c","causationId":"c"}')
         returning position::text as position`,
      );
      const old = await stream({ ...bearer((await newCustomer()).token), 'last-event-id': rows[0].position });
      const [tooOld] = await old.waitFor(
        (c) => c.events,
        (e) => e.length >= 1,
        'a reset event',
      );
      expect(JSON.parse(tooOld.data)).toMatchObject({ reason: 'too-old' });
      old.close();
      // More order events since the origin than ORDER_STREAM_REPLAY_MAX_EVENTS.
      const orderEvents = async () =>
        Number((await db.query(`select count(*) as n from event_log where type like 'ordering.order.%'`)).rows[0].n);
      while ((await orderEvents()) <= REPLAY_MAX) {
        await Promise.all(Array.from({ length: 8 }, () => placeOrder(customer.token)));
      }
      const behind = await stream({ ...bearer((await newCustomer()).token), 'last-event-id': '0' });
      const [tooFar] = await behind.waitFor(
        (c) => c.events,
        (e) => e.length >= 1,
        'a reset event',
      );
      expect(JSON.parse(tooFar.data)).toMatchObject({ reason: 'too-far-behind' });
      behind.close();
      // After the reset the stream is live.
      const orderId = await placeOrder(customer.token);
      await unknown.waitFor(
        (c) => eventsOf(c, orderId).length,
        (n) => n === 1,
        'the order after the reset',
      );
      for (const id of ['abc', '-1', '99999999999999999999', '9223372036854775808']) {
        expectProblem(
          await http('GET', STREAM, { token: customer.token, headers: { 'last-event-id': id } }),
          400,
          'invalid-last-event-id',
        );
      }
    });

    it('keeps an idle stream alive with comments', async () => {
      const customer = await newCustomer();
      const client = await stream(bearer(customer.token));
      await client.waitFor(
        (c) => c.comments.filter((t) => t === 'keep-alive').length,
        (n) => n >= 2,
        'heartbeats',
      );
    });

    it('accepts a stream ticket once; a used, expired or unknown ticket, or a token in the URL, is 401', async () => {
      const customer = await newCustomer();
      const issued = await http('POST', `${STREAM}/tickets`, { token: customer.token });
      expect(issued.status).toBe(201);
      expect(issued.body).toEqual({ ticket: expect.stringMatching(/^[A-Za-z0-9_-]{43}$/), expiresIn: 30 });
      expectProblem(await http('POST', `${STREAM}/tickets`), 401, 'unauthorized');

      const client = await stream({}, `?ticket=${issued.body.ticket}`);
      expect(client.status).toBe(200);
      const orderId = await placeOrder(customer.token);
      await client.waitFor(
        (c) => eventsOf(c, orderId).length,
        (n) => n === 1,
        'the order on the ticket’s stream',
      );

      const again = await stream({}, `?ticket=${issued.body.ticket}`);
      expect({ status: again.status, code: (await again.problem()).code }).toEqual({
        status: 401,
        code: 'invalid-ticket',
      });
      const expired = 'expired-ticket-' + crypto.randomUUID();
      await db.query(
        `insert into order_stream_tickets (ticket_hash, user_id, roles, expires_at)
         values ($1, $2, '{customer}', now() - interval '1 second')`,
        [createHash('sha256').update(expired).digest('hex'), customer.id],
      );
      for (const query of [
        `?ticket=${expired}`,
        `?ticket=${crypto.randomUUID()}`,
        `?ticket=${customer.token}`,
        `?access_token=${customer.token}`,
        '',
      ]) {
        const refused = await http('GET', `${STREAM}${query}`);
        expect({ query, status: refused.status }).toEqual({ query, status: 401 });
      }
    });

    it('limits the streams a user has open (429), and frees a slot when one closes', async () => {
      const customer = await newCustomer();
      const streams = [];
      for (let i = 0; i < MAX_PER_USER; i++) streams.push(await stream(bearer(customer.token)));
      const refused = await stream(bearer(customer.token));
      expect({ status: refused.status, code: (await refused.problem()).code }).toEqual({
        status: 429,
        code: 'too-many-streams',
      });
      const metrics = await (await fetch(`${system.apiUrl}/metrics`)).text();
      expect(Number(/^emporium_order_streams_open (\d+)$/m.exec(metrics)?.[1])).toBeGreaterThanOrEqual(MAX_PER_USER);
      // Another user is not affected.
      expect((await stream(bearer((await newCustomer()).token))).status).toBe(200);
      streams[0].close();
      const reopened = await poll(
        async () => {
          const client = await stream(bearer(customer.token));
          if (client.status !== 200) client.close();
          return client;
        },
        (c) => c.status === 200,
        { what: 'a slot to free up' },
      );
      expect(reopened.status).toBe(200);
    });

    if (mode === 'distributed') {
      // Two transactions at once need a server: the embedded database serves one at a time.
      it('sends a change that commits late, below a position already sent, and a resume past it still gets it', async () => {
        const customer = await newCustomer();
        const client = await stream(bearer(customer.token));
        const placedEvent = (orderId: string) => [
          orderId,
          JSON.stringify({
            customerId: customer.id,
            lines: [{ productId, name: 'Streamed', category: 'general', quantity: 1, unitPriceCents: 500 }],
            totalCents: 500,
            currency: 'EUR',
          }),
          JSON.stringify({ actor: customer.id, correlationId: 'late-commit', causationId: 'late-commit' }),
        ];
        const insert = `insert into event_log (id, type, schema_version, aggregate_type, aggregate_id, aggregate_version,
             occurred_at, payload, metadata)
           values (gen_random_uuid(), 'ordering.order.placed', 1, 'Order', $1, 1, now(), $2, $3)
           returning position::text as position`;
        const early = await db.connect();
        const late = await db.connect();
        const [first, second] = [crypto.randomUUID(), crypto.randomUUID()];
        let positions: string[];
        try {
          // `early` starts first (the older transaction), takes the higher position, and commits last.
          await early.query('begin');
          await early.query('select pg_current_xact_id()');
          await late.query('begin');
          const low = (await late.query<{ position: string }>(insert, placedEvent(first))).rows[0].position;
          await late.query('commit');
          const high = (await early.query<{ position: string }>(insert, placedEvent(second))).rows[0].position;
          await early.query('commit');
          positions = [low, high];
        } finally {
          early.release();
          late.release();
        }
        expect(BigInt(positions[0])).toBeLessThan(BigInt(positions[1]));
        // Streams follow commit-safe (transaction, position) order: the higher position first.
        const ids = await client.waitFor(
          (c) => c.events.map((e) => e.id),
          (e) => e.length >= 2,
          'both late-committed orders',
        );
        expect(ids).toEqual([positions[1], positions[0]]);
        // A client that saw only the first (the higher position) resumes and still gets the lower one.
        const resumed = await stream({ ...bearer(customer.token), 'last-event-id': positions[1] });
        const after = await resumed.waitFor(
          (c) => c.changes(),
          (e) => e.length >= 1,
          'the lower position on resume',
        );
        expect(after.map((e) => e.data.orderId)).toEqual([first]);
      });

      describe('across api replicas', () => {
        let replica: RunningApp;
        beforeAll(async () => {
          replica = await startApp('api', { ...system.env, RELAY_ENABLED: 'false' });
        });
        afterAll(async () => {
          await replica?.stop();
        });

        it('streams on one replica the orders placed through another, and redeems its tickets', async () => {
          const customer = await newCustomer();
          const ticket = await http('POST', `${STREAM}/tickets`, { token: customer.token });
          const elsewhere = await stream({}, `?ticket=${ticket.body.ticket}`, replica.url);
          expect(elsewhere.status).toBe(200);
          const orderId = await placeOrder(customer.token);
          await elsewhere.waitFor(
            (c) => eventsOf(c, orderId).length,
            (n) => n === 1,
            'the order on the replica',
          );
        });
      });
    }

    it('ends open streams when the api shuts down, without holding the process', async () => {
      const customer = await newCustomer();
      // Distributed: an api replica of its own, whose exit code tells a clean stop from a forced one.
      const replica =
        mode === 'distributed' ? await startApp('api', { ...system.env, RELAY_ENABLED: 'false' }) : undefined;
      const client = await stream(bearer(customer.token), '', replica?.url ?? system.apiUrl);
      const started = Date.now();
      let stopping: Promise<unknown>;
      if (replica) {
        stopping = replica.stop();
      } else {
        await db.end();
        stopped = true;
        stopping = system.stop();
      }
      await client.ended;
      const endedAfter = Date.now() - started;
      const code = await stopping;
      expect(client.done).toBe(true);
      // Ended as the server began to close, not when SHUTDOWN_GRACE_MS (10 s) forced the exit.
      expect(endedAfter).toBeLessThan(5000);
      // A clean stop re-raises SIGTERM after the shutdown hooks (no exit code); a forced one exits with 1.
      if (replica) expect({ code, signal: replica.process.signalCode }).toEqual({ code: null, signal: 'SIGTERM' });
    });
  });
}
