/** @requires-services PostgreSQL RabbitMQ (see jest.config.js) */
import pg from 'pg';
import { PoisonMessageError, type EventEnvelope } from '@emporium/contracts';
import { DeliveryCore, EventLogDeadLetters, EventLogTransport } from '@emporium/messaging';
import { allEntities, isolatedEnvironment, poll, requireServices, type IsolatedEnvironment } from '@emporium/testing';

/** The delivery core on the in-process transport: `event_log` itself is the queue. */
describe('delivery core on EventLogTransport (real PostgreSQL)', () => {
  let env: IsolatedEnvironment;
  let db: pg.Pool;
  let core: DeliveryCore;
  const seen: Record<string, string[]> = { first: [], second: [] };
  const failOnce = new Set<string>();
  const poisonOnce = new Set<string>();

  beforeAll(async () => {
    await requireServices();
    env = await isolatedEnvironment('eventlog', allEntities);
    db = new pg.Pool({ connectionString: env.databaseUrl, max: 2 });
    const transport = new EventLogTransport({ databaseUrl: env.databaseUrl, batchSize: 10, sweepIntervalMs: 100 });
    const subscriptions = [
      { name: 'first', eventTypes: ['ordering.order.placed'] },
      { name: 'second', eventTypes: ['ordering.order.placed'] },
    ];
    core = new DeliveryCore(
      transport,
      [
        {
          ...subscriptions[0],
          handle: async (event: EventEnvelope) => {
            if (poisonOnce.delete(event.id)) throw new PoisonMessageError('cannot be applied (yet)');
            seen.first.push(event.id);
          },
        },
        {
          ...subscriptions[1],
          handle: async (event: EventEnvelope) => {
            if (failOnce.delete(event.id)) throw new Error('fails the first time');
            seen.second.push(event.id);
          },
        },
      ],
      // The second subscription's retry waits long enough for an operator to replay the first's.
      { retryDelaysMs: [1500] },
    );
    await core.start();
  });

  afterAll(async () => {
    await core?.stop();
    await db?.end();
    await env?.dispose();
  });

  const insertEvent = async (): Promise<string> => {
    const { rows } = await db.query<{ id: string }>(
      `insert into event_log (id, type, schema_version, aggregate_type, aggregate_id, aggregate_version, occurred_at, payload, metadata)
       values (gen_random_uuid(), 'ordering.order.placed', 1, 'Order', gen_random_uuid(), 1, now(), '{}',
               '{"actor":"test","correlationId":"c","causationId":"c"}') returning id`,
    );
    return rows[0].id;
  };
  const published = async (id: string): Promise<boolean> =>
    (await db.query<{ p: boolean }>('select published_at is not null as p from event_log where id = $1', [id])).rows[0]
      .p;

  it('marks an event published once every subscription applied it', async () => {
    const id = await insertEvent();
    await poll(() => published(id), Boolean, { what: 'the event to be published' });
    expect([seen.first.includes(id), seen.second.includes(id)]).toEqual([true, true]);
  });

  it('delivers a dead letter replayed while another subscription still retries the same event', async () => {
    const id = await insertEvent();
    poisonOnce.add(id);
    failOnce.add(id);
    const deadLetters = new EventLogDeadLetters(env.databaseUrl, [{ name: 'first', eventTypes: [] }]);
    try {
      await poll(
        async () => (await deadLetters.list('first')).map((l) => l.messageId),
        (ids) => ids.includes(id),
        { what: 'the first subscription to dead-letter it' },
      );
      expect(seen.second).not.toContain(id); // still in its backoff
      expect((await deadLetters.replay('first', id)).map((l) => l.messageId)).toEqual([id]);
      await poll(() => published(id), Boolean, { timeoutMs: 15_000, what: 'the event to be published' });
      // The first subscription gets it again; the second may too (at least once: its inbox dedupes).
      expect(seen.first.filter((s) => s === id)).toEqual([id]);
      expect(seen.second).toContain(id);
      expect(await deadLetters.depth('first')).toBe(0);
    } finally {
      await deadLetters.close();
    }
  });
});
