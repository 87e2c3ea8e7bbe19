/** @requires-services PostgreSQL RabbitMQ (see jest.config.js) */
import { MikroORM } from '@mikro-orm/postgresql';
import { connect, type Channel, type ChannelModel, type ConsumeMessage } from 'amqplib';
import pg from 'pg';
import type { Product } from '@emporium/catalog';
import { createOrmOptions } from '@emporium/database';
import { CommandContext, UnitOfWork } from '@emporium/domain';
import { OutboxRelay } from '@emporium/messaging';
import {
  allEntities,
  aProduct,
  isolatedEnvironment,
  poll,
  requireServices,
  SERVICE_URLS,
  type IsolatedEnvironment,
} from '@emporium/testing';

const newProduct = (): Product => aProduct().named('Relay mug').pricedAt(100).withStock(1).build();

describe('OutboxRelay (real PostgreSQL and RabbitMQ)', () => {
  let env: IsolatedEnvironment;
  let orm: MikroORM;
  let uow: UnitOfWork;
  let amqp: ChannelModel;
  let channel: Channel;
  const received: ConsumeMessage[] = [];
  const relays: OutboxRelay[] = [];

  const startRelay = async (): Promise<OutboxRelay> => {
    const relay = new OutboxRelay(env.config, [{ name: 'probe', eventTypes: ['catalog.product.created'] }]);
    relays.push(relay);
    await relay.start();
    return relay;
  };
  const receivedIds = (): string[] => received.map((m) => String(m.properties.messageId));

  beforeAll(async () => {
    await requireServices();
    env = await isolatedEnvironment('relay', allEntities);
    orm = await MikroORM.init(createOrmOptions(env.config, allEntities));
    uow = new UnitOfWork(orm, env.config);
    amqp = await connect(SERVICE_URLS.amqp);
    channel = await amqp.createChannel();
    await channel.assertExchange(env.exchange, 'topic', { durable: true });
    const { queue } = await channel.assertQueue('', { exclusive: true });
    await channel.bindQueue(queue, env.exchange, '#');
    await channel.consume(queue, (m) => m && received.push(m), { noAck: true });
  });

  afterAll(async () => {
    for (const relay of relays) await relay.stop();
    await amqp?.close();
    await orm?.close();
    await env?.dispose();
  });

  it('publishes a committed event as a plain AMQP message any client can read', async () => {
    await startRelay();
    const traceparent = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
    const context = new CommandContext({ id: 'user-1', roles: ['admin'] }, 'corr-1', traceparent);
    const result = await uow.execute(context, async () => newProduct());

    const message = await poll(
      async () => received.find((m) => JSON.parse(m.content.toString()).position === result.position),
      (m) => m !== undefined,
      { what: 'the published event' },
    );
    const envelope = JSON.parse(message!.content.toString());
    expect(message!.fields.routingKey).toBe('catalog.product.created');
    expect(message!.properties).toMatchObject({
      messageId: envelope.id,
      type: 'catalog.product.created',
      contentType: 'application/json',
      deliveryMode: 2,
      correlationId: 'corr-1',
      headers: { traceparent },
    });
    expect(message!.properties.timestamp).toEqual(expect.any(Number));
    expect(envelope).toMatchObject({
      type: 'catalog.product.created',
      aggregateType: 'Product',
      aggregateId: result.id,
      aggregateVersion: 1,
      metadata: { actor: 'user-1', correlationId: 'corr-1', causationId: context.commandId, traceparent },
    });
    // The relay declared the subscribed projection's queue before publishing: nothing was dropped.
    const probe = await channel.checkQueue(`${env.queuePrefix}.probe`);
    expect(probe.messageCount).toBeGreaterThanOrEqual(1);
    await poll(
      () =>
        orm.em
          .fork()
          .getConnection()
          .execute<{ published_at: Date | null }[]>('select published_at from event_log where id = ?', [envelope.id]),
      (r) => r[0]?.published_at !== null,
      { what: 'published_at to be set' },
    );
  });

  it('never skips an event whose transaction commits after a later position', async () => {
    const insert = (client: pg.Client, id: string): Promise<unknown> =>
      client.query(
        `insert into event_log (id, type, schema_version, aggregate_type, aggregate_id, aggregate_version, occurred_at, payload, metadata)
         values ($1, 'test.thing.happened', 1, 'Thing', $2, 1, now(), '{}', '{"actor":"t","correlationId":"c","causationId":"c"}')`,
        [id, crypto.randomUUID()],
      );
    const slow = new pg.Client({ connectionString: env.databaseUrl });
    const fast = new pg.Client({ connectionString: env.databaseUrl });
    await slow.connect();
    await fast.connect();
    try {
      const early = crypto.randomUUID();
      const late = crypto.randomUUID();
      await slow.query('begin');
      await insert(slow, early); // takes the lower position, commits last
      await insert(fast, late); // higher position, committed at once
      await poll(
        async () => receivedIds(),
        (ids) => ids.includes(late),
        { what: 'the later position' },
      );
      expect(receivedIds()).not.toContain(early);

      await slow.query('commit');
      await poll(
        async () => receivedIds(),
        (ids) => ids.includes(early),
        { what: 'the late-committing event' },
      );
      const { rows } = await fast.query<{ position: string; id: string }>(
        'select position, id from event_log where id = any($1)',
        [[early, late]],
      );
      const position = Object.fromEntries(rows.map((r) => [r.id, BigInt(r.position)]));
      expect(position[early] < position[late]).toBe(true);
    } finally {
      await slow.end();
      await fast.end();
    }
  });

  it('keeps exactly one relay active and fails over when it stops', async () => {
    const [first] = relays;
    const second = await startRelay();
    await poll(
      async () => [first.status().active, second.status().active],
      ([a, b]) => a !== b,
      { what: 'one active relay' },
    );
    expect(first.status().active).toBe(true);
    expect(second.status().active).toBe(false);

    await first.stop();
    await poll(
      async () => second.status().active,
      (active) => active,
      { what: 'the stand-by to take over' },
    );
    const result = await uow.execute(CommandContext.system(), async () => newProduct());
    await poll(
      async () => received.some((m) => JSON.parse(m.content.toString()).position === result.position),
      (found) => found,
      { what: 'an event published by the new active relay' },
    );
  });
});
