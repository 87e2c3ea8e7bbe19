/** @requires-services PostgreSQL RabbitMQ (see jest.config.js) */
import { execFileSync } from 'node:child_process';
import { connect, type Channel, type ChannelModel, type GetMessage } from 'amqplib';
import { PoisonMessageError, type EventEnvelope } from '@emporium/contracts';
import { DeliveryServer, MessageHeaders, RabbitMqTransport } from '@emporium/messaging';
import { registry } from '@emporium/telemetry';
import { poll, requireServices, SERVICE_URLS } from '@emporium/testing';

const TYPE = 'test.thing.happened';

const envelope = (overrides: Partial<EventEnvelope> = {}): EventEnvelope => ({
  id: crypto.randomUUID(),
  type: TYPE,
  schemaVersion: 1,
  aggregateType: 'Thing',
  aggregateId: crypto.randomUUID(),
  aggregateVersion: 1,
  position: '1',
  occurredAt: new Date().toISOString(),
  payload: {},
  metadata: { actor: 't', correlationId: 'c', causationId: 'c' },
  ...overrides,
});

/** The delivery core over RabbitMQ, as the projector runs it (a Nest custom transport strategy). */
describe('delivery core on RabbitMqTransport (real RabbitMQ)', () => {
  const suffix = crypto.randomUUID().slice(0, 8);
  const exchange = `t.transport.${suffix}.events`;
  const prefix = `t.transport.${suffix}`;
  const queue = `${prefix}.probe`;
  let server: DeliveryServer;
  const connectionName = `transport-test-${suffix}`;
  let amqp: ChannelModel;
  let channel: Channel;
  const seen: string[] = [];
  const behaviour = new Map<string, 'ok' | 'always-fail' | 'fail-once' | 'poison' | 'db-down' | 'gated'>();
  const gates = new Map<string, () => void>();
  const arrived: string[] = [];
  const transientFailures = new Map<string, number>();
  const failedOnce = new Set<string>();

  const publish = (body: Buffer | object, routingKey = TYPE, messageId?: string): void => {
    const content = Buffer.isBuffer(body) ? body : Buffer.from(JSON.stringify(body));
    channel.publish(exchange, routingKey, content, { persistent: true, messageId, headers: { traceparent: '00-abc' } });
  };
  const dlq = async (): Promise<GetMessage[]> => {
    const messages: GetMessage[] = [];
    for (;;) {
      const message = await channel.get(`${queue}.dlq`, { noAck: true });
      if (!message) return messages;
      messages.push(message);
    }
  };

  beforeAll(async () => {
    await requireServices();
    const transport = new RabbitMqTransport({
      url: SERVICE_URLS.amqp,
      exchange,
      queuePrefix: prefix,
      prefetch: 10,
      retryDelaysMs: [50, 100],
      connectionName,
    });
    server = new DeliveryServer(transport, [{ name: 'probe', eventTypes: [TYPE] }], { retryDelaysMs: [50, 100] });
    // A subscriber throws whatever stops it; the core classifies (poison, transient, failed).
    server.subscribe('probe', async (event: EventEnvelope) => {
      arrived.push(event.id);
      const mode = behaviour.get(event.id) ?? 'ok';
      if (mode === 'poison') throw new PoisonMessageError('payload cannot be applied');
      if (mode === 'always-fail') throw new Error('apply failed');
      if (mode === 'db-down') {
        const failures = (transientFailures.get(event.id) ?? 0) + 1;
        transientFailures.set(event.id, failures);
        if (failures <= 5)
          throw Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' });
      }
      if (mode === 'fail-once' && !failedOnce.has(event.id)) {
        failedOnce.add(event.id);
        throw new Error('transient failure');
      }
      if (mode === 'gated') {
        behaviour.delete(event.id); // its redelivery goes straight through
        await new Promise<void>((open) => gates.set(event.id, open));
      }
      seen.push(event.id);
      return 'applied';
    });
    await new Promise<void>((resolve, reject) =>
      server.listen((error) =>
        error ? reject(error instanceof Error ? error : new Error('listen failed')) : resolve(),
      ),
    );
    amqp = await connect(SERVICE_URLS.amqp);
    channel = await amqp.createChannel();
  });

  afterAll(async () => {
    await server?.close();
    for (const q of [queue, `${queue}.dlq`, `${queue}.retry.50ms`, `${queue}.retry.100ms`])
      await channel?.deleteQueue(q).catch(() => undefined);
    await channel?.deleteExchange(exchange).catch(() => undefined);
    await amqp?.close();
  });

  it('acks a handled message after the handler finished', async () => {
    const event = envelope();
    publish(event);
    await poll(async () => seen.includes(event.id), Boolean, { what: 'the handler to run' });
    await poll(
      async () => (await channel.checkQueue(queue)).messageCount,
      (n) => n === 0,
      { what: 'an empty queue' },
    );
  });

  it('dead-letters unreadable messages at once, with the reason, without blocking the ones behind', async () => {
    const behind = envelope();
    publish(Buffer.from('{not json'), TYPE, 'bad-json');
    publish({ hello: 'world' }, TYPE, 'bad-envelope');
    const poisoned = envelope();
    behaviour.set(poisoned.id, 'poison');
    publish(poisoned, TYPE, poisoned.id);
    publish(behind);
    await poll(async () => seen.includes(behind.id), Boolean, { what: 'the message behind the poison' });

    const parked = await poll(dlq, (m) => m.length >= 3, { what: 'three dead letters' });
    const byId = Object.fromEntries(parked.map((m) => [String(m.properties.messageId), m.properties.headers ?? {}]));
    expect(String(byId['bad-json'][MessageHeaders.error])).toMatch(/not valid JSON/);
    expect(String(byId['bad-envelope'][MessageHeaders.error])).toMatch(/invalid envelope/);
    expect(String(byId[poisoned.id][MessageHeaders.error])).toMatch(/payload cannot be applied/);
    for (const headers of Object.values(byId)) {
      expect(headers[MessageHeaders.attempts]).toBe(1);
      expect(headers[MessageHeaders.originalRoutingKey]).toBe(TYPE);
      expect(headers.traceparent).toBe('00-abc');
    }
  });

  it('retries a failing apply with backoff, then parks it with the attempt count', async () => {
    const flaky = envelope();
    behaviour.set(flaky.id, 'fail-once');
    const broken = envelope();
    behaviour.set(broken.id, 'always-fail');
    publish(flaky, TYPE, flaky.id);
    publish(broken, TYPE, broken.id);

    await poll(async () => seen.includes(flaky.id), Boolean, { what: 'the retried message to succeed' });
    const [parked] = await poll(dlq, (m) => m.length === 1, { what: 'the always-failing message in the DLQ' });
    expect(parked.properties.messageId).toBe(broken.id);
    expect(parked.properties.headers?.[MessageHeaders.attempts]).toBe(3);
    expect(String(parked.properties.headers?.[MessageHeaders.error])).toMatch(/apply failed/);
    expect(parked.properties.headers?.[MessageHeaders.originalRoutingKey]).toBe(TYPE);
    expect(seen).not.toContain(broken.id);
  });

  it('retries while the database is down for longer than the retry budget, and never dead-letters for it', async () => {
    const event = envelope();
    behaviour.set(event.id, 'db-down');
    publish(event, TYPE, event.id);
    await poll(async () => seen.includes(event.id), Boolean, {
      what: 'the message to apply once the database is back',
    });
    expect(transientFailures.get(event.id)).toBe(6);
    expect(await dlq()).toEqual([]);
  });

  it('settles nothing on a channel that closed under a delivery: no crash, counted, redelivered and applied once more', async () => {
    const settleFailures = async (): Promise<number> => {
      const metric = await registry.getSingleMetric('emporium_delivery_settle_failures_total')!.get();
      return metric.values.filter((v) => v.labels.subscriber === 'probe').reduce((sum, v) => sum + v.value, 0);
    };
    const before = await settleFailures();
    const events = Array.from({ length: 5 }, () => envelope());
    for (const event of events) {
      behaviour.set(event.id, 'gated');
      publish(event, TYPE, event.id);
    }
    await poll(async () => events.every((e) => gates.has(e.id)), Boolean, { what: 'five deliveries in flight' });
    // The broker drops this consumer's connection while the five are being applied.
    const connections = execFileSync('rabbitmqctl', ['-q', 'list_connections', 'pid', 'client_properties'], {
      encoding: 'utf8',
    });
    const pid = connections
      .split('\n')
      .find((line) => line.includes(connectionName))
      ?.split('\t')[0];
    expect(pid).toBeDefined();
    execFileSync('rabbitmqctl', ['-q', 'close_connection', pid!, 'test: broker gone mid-delivery'], {
      stdio: 'ignore',
    });
    await poll(
      async () => server.connected,
      (up) => !up,
      { what: 'the transport to notice' },
    );
    for (const event of events) gates.get(event.id)!();
    // Each ack found its channel closed: counted, not thrown; the broker redelivers all five.
    await poll(settleFailures, (n) => n >= before + 5, { what: 'five lost settlements' });
    await poll(async () => events.every((e) => seen.filter((id) => id === e.id).length === 2), Boolean, {
      timeoutMs: 20_000,
      what: 'every delivery to come again after the reconnect',
    });
    await poll(
      async () => (await channel.checkQueue(queue)).messageCount,
      (n) => n === 0,
      { what: 'an empty queue' },
    );
    expect(await dlq()).toEqual([]);
  });
});
