/** @requires-services PostgreSQL RabbitMQ (see jest.config.js) */
import { connect, type Channel, type ChannelModel } from 'amqplib';
import { RabbitMqLiveFeed } from '@emporium/messaging';
import { poll, rabbitmqctl, requireServices, SERVICE_URLS } from '@emporium/testing';

/**
 * The distributed mode's live feed, as each api process runs it: a queue of its own on the
 * relay's exchange, for order events only, that comes back after the broker drops it.
 */
describe('RabbitMqLiveFeed (real RabbitMQ)', () => {
  const suffix = crypto.randomUUID().slice(0, 8);
  const exchange = `t.live.${suffix}.events`;
  const connectionName = `live-feed-test-${suffix}`;
  let feed: RabbitMqLiveFeed;
  let amqp: ChannelModel;
  let channel: Channel;
  const signals: Array<string | undefined> = [];
  const publish = (type: string, position: string): void => {
    channel.publish(exchange, type, Buffer.from(JSON.stringify({ type, position })), { type });
  };

  beforeAll(async () => {
    await requireServices();
    amqp = await connect(SERVICE_URLS.amqp);
    channel = await amqp.createChannel();
    feed = new RabbitMqLiveFeed({ url: SERVICE_URLS.amqp, exchange, connectionName });
    await feed.start('ordering.order.*', (position) => signals.push(position));
    await poll(async () => feed.connected, Boolean, { what: 'the feed to connect' });
  });

  afterAll(async () => {
    await feed?.close();
    await channel?.deleteExchange(exchange).catch(() => undefined);
    await amqp?.close();
  });

  it('consumes a server-named, exclusive, auto-delete queue bound to ordering.order.*', async () => {
    const bindings = await rabbitmqctl('list_bindings', 'source_name', 'destination_name', 'routing_key');
    const ours = bindings
      .split('\n')
      .map((line) => line.trim().split('\t'))
      .filter(([source]) => source === exchange);
    expect(ours).toEqual([[exchange, expect.stringMatching(/^amq\.gen-/), 'ordering.order.*']]);
    const queues = await rabbitmqctl('list_queues', 'name', 'durable', 'auto_delete', 'exclusive');
    const queue = queues.split('\n').find((line) => line.startsWith(`${ours[0][1]}\t`));
    expect(queue?.trim().split('\t').slice(1)).toEqual(['false', 'true', 'true']);
  });

  it('rings with the position of each order event, and for nothing else', async () => {
    publish('catalog.product.created', '41');
    publish('ordering.order.placed', '42');
    publish('ordering.order.shipped', '43');
    await poll(async () => signals.includes('43'), Boolean, { what: 'the order events' });
    expect(signals).not.toContain('41');
    expect(signals.filter((s) => s !== undefined)).toEqual(['42', '43']);
  });

  it('comes back after the broker drops its connection, and rings once to catch up', async () => {
    const connections = await rabbitmqctl('list_connections', 'pid', 'client_properties');
    const pid = connections
      .split('\n')
      .find((line) => line.includes(connectionName))
      ?.split('\t')[0];
    expect(pid).toBeDefined();
    const before = signals.length;
    await rabbitmqctl('close_connection', pid!, 'test: broker outage');
    await poll(async () => signals.length > before && feed.connected, Boolean, { what: 'the feed to reconnect' });
    expect(signals[before]).toBeUndefined(); // the catch-up ring after the reconnect
    publish('ordering.order.paid', '44');
    await poll(async () => signals.includes('44'), Boolean, { what: 'an order event after the reconnect' });
  });
});
