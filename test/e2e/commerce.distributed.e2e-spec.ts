/** @requires-services PostgreSQL RabbitMQ (see jest.config.js) */
import { connect, type Channel, type ChannelModel, type ConsumeMessage } from 'amqplib';
import { poll, runToExit, SERVICE_URLS, type IsolatedEnvironment } from '@emporium/testing';
import { describeCommerceContract } from './contract/commerce.contract.js';

/**
 * The API contract on the distributed deployment (api and projector processes, PostgreSQL,
 * RabbitMQ), plus what only this mode has: messages on the exchange, broker redelivery and the
 * dead-letter queues, the projector as a process of its own.
 */
describeCommerceContract('distributed', (ctx) => {
  let amqp: ChannelModel;
  let channel: Channel;
  const tapped: ConsumeMessage[] = [];
  /** The `ordering.order.placed` message for this order, as the exchange routed it. */
  const tappedOrderPlaced = (orderId: string): Promise<ConsumeMessage | undefined> =>
    poll(
      async () =>
        tapped.find(
          (m) =>
            m.properties.type === 'ordering.order.placed' && JSON.parse(m.content.toString()).aggregateId === orderId,
        ),
      (m) => m !== undefined,
      { what: `the order.placed message of order ${orderId} on the exchange` },
    );
  const env = (): IsolatedEnvironment => ctx.system.environment!;
  const { expectProblem, after, createProduct, newCustomer, placeOrder } = ctx;

  beforeAll(async () => {
    amqp = await connect(SERVICE_URLS.amqp);
    channel = await amqp.createChannel();
    // A plain AMQP consumer, knowing nothing of Nest, bound to every event.
    await channel.assertExchange(env().exchange, 'topic', { durable: true });
    const { queue } = await channel.assertQueue('', { exclusive: true });
    await channel.bindQueue(queue, env().exchange, '#');
    await channel.consume(queue, (m) => m && tapped.push(m), { noAck: true });
  });

  afterAll(async () => {
    await amqp?.close();
  });

  describe('read-your-writes with the projector down', () => {
    it('answers 503 with Retry-After while the projection is behind, and 200 once it caught up', async () => {
      await ctx.system.projector!.stop();
      const product = await createProduct();
      const behind = await ctx.http('GET', `/api/v1/products/${product.id}`, { headers: after(product.position) });
      expectProblem(behind, 503, 'read-model-behind');
      expect(behind.headers.get('retry-after')).toBe('1');

      await ctx.system.restartProjector!();
      const caughtUp = await ctx.http('GET', `/api/v1/products/${product.id}`, { headers: after(product.position) });
      expect(caughtUp.status).toBe(200);
    });
  });

  describe('messaging on RabbitMQ', () => {
    it('publishes plain JSON envelopes with messageId, type, persistent delivery and traceparent', async () => {
      const traceparent = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
      const product = await createProduct();
      const customer = await newCustomer();
      const placed = await ctx.http('POST', '/api/v1/orders', {
        token: customer.token,
        body: { lines: [{ productId: product.id, quantity: 1 }] },
        headers: { traceparent },
      });
      const message = await tappedOrderPlaced(placed.body.id);
      const envelope = JSON.parse(message!.content.toString());
      expect(message!.fields.routingKey).toBe('ordering.order.placed');
      expect(message!.properties).toMatchObject({
        messageId: envelope.id,
        contentType: 'application/json',
        deliveryMode: 2,
        // The request's trace continues: same trace id, a span of ours as parent.
        headers: { traceparent: expect.stringMatching(/^00-4bf92f3577b34da6a3ce929d0e0e4736-[0-9a-f]{16}-01$/) },
      });
      expect(envelope).toMatchObject({
        type: 'ordering.order.placed',
        schemaVersion: 1,
        aggregateType: 'Order',
        aggregateVersion: 1,
        payload: { customerId: customer.id, totalCents: 1000, currency: 'EUR' },
        metadata: { actor: customer.id, traceparent: expect.stringMatching(/^00-4bf92f3577b34da6a3ce929d0e0e4736-/) },
      });
    });

    it('changes nothing when a message is delivered again', async () => {
      const category = `dup-${crypto.randomUUID().slice(0, 8)}`;
      const product = await createProduct({ category, priceCents: 700 });
      const customer = await newCustomer();
      const placed = await placeOrder(customer.token, [{ productId: product.id, quantity: 2 }]);
      const original = await tappedOrderPlaced(placed.body.id);
      const today = new Date().toISOString().slice(0, 10);
      const salesPath = `/api/v1/sales/daily?from=${today}&to=${today}&category=${category}`;
      const before = await ctx.http('GET', salesPath, { token: ctx.adminToken, headers: after(placed.body.position) });
      expect(before.body.items[0].units).toBe(2);

      // The broker delivers the same message again (same body and messageId).
      channel.publish(env().exchange, original!.fields.routingKey, original!.content, original!.properties);
      const sentinel = await placeOrder(customer.token, [
        { productId: (await createProduct({ category: `${category}-x` })).id, quantity: 1 },
      ]);
      await poll(
        async () => (await channel.checkQueue(`${env().queuePrefix}.sales`)).messageCount,
        (n) => n === 0,
        { what: 'the sales queue to drain' },
      );
      const afterDuplicate = await ctx.http('GET', salesPath, {
        token: ctx.adminToken,
        headers: after(sentinel.body.position),
      });
      expect(afterDuplicate.body.items).toEqual(before.body.items);
      const inbox = await ctx.db.query('select count(*) as n from projection_inbox where event_id = $1', [
        JSON.parse(original!.content.toString()).id,
      ]);
      expect(Number(inbox.rows[0].n)).toBe(3); // once each for orders, sales and the webhooks fan-out
    });

    it('parks a message the projector cannot read in the dead-letter queue, with the reason', async () => {
      channel.publish(env().exchange, 'ordering.order.paid', Buffer.from('this is not json'), {
        messageId: 'poison-1',
        persistent: true,
      });
      const parked = await poll(
        () => channel.get(`${env().queuePrefix}.orders.dlq`, { noAck: true }),
        (m) => m !== false,
        { what: 'the poison message in orders.dlq' },
      );
      if (parked === false) throw new Error('unreachable');
      expect(parked.properties.messageId).toBe('poison-1');
      expect(String(parked.properties.headers?.['x-emporium-error'])).toMatch(/not valid JSON/);
      expect(parked.properties.headers?.['x-original-routing-key']).toBe('ordering.order.paid');
    });
    it('dead-letters a well-formed event that is not in event_log at once, without retries', async () => {
      const forged = {
        id: crypto.randomUUID(),
        type: 'catalog.product.price-changed',
        schemaVersion: 1,
        aggregateType: 'Product',
        aggregateId: crypto.randomUUID(),
        aggregateVersion: 2,
        position: '1',
        occurredAt: new Date().toISOString(),
        payload: { priceCents: 1, previousPriceCents: 2, currency: 'EUR' },
        metadata: { actor: 'attacker', correlationId: 'x', causationId: 'x' },
      };
      channel.publish(env().exchange, forged.type, Buffer.from(JSON.stringify(forged)), {
        messageId: forged.id,
        persistent: true,
      });
      const parked = await poll(
        () => channel.get(`${env().queuePrefix}.catalog.dlq`, { noAck: true }),
        (m) => m !== false,
        { what: 'the forged event in catalog.dlq' },
      );
      if (parked === false) throw new Error('unreachable');
      expect(parked.properties.messageId).toBe(forged.id);
      expect(parked.properties.headers?.['x-emporium-attempts']).toBe(1);
      expect(String(parked.properties.headers?.['x-emporium-error'])).toMatch(/not in event_log/);
    });
  });

  describe('configuration', () => {
    it('refuses to start with a malformed setting and names it', async () => {
      const { code, output } = await runToExit('api', { ...ctx.system.env, PORT: 'eighty' });
      expect(code).toBe(78);
      expect(output).toMatch(/PORT: .*"eighty"/);
    });
  });
});
