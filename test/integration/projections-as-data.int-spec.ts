/** @requires-services PostgreSQL RabbitMQ (see jest.config.js) */
import { Injectable } from '@nestjs/common';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { MikroORM } from '@mikro-orm/postgresql';
import { sql } from 'kysely';
import { connect } from 'amqplib';
import { AppConfig } from '@emporium/config';
import { OrderingEvents, type DomainEvent } from '@emporium/contracts';
import { projectionTypes, subscriptionsOf } from '@emporium/composition';
import { createOrmOptions, type ReadDb } from '@emporium/database';
import { CommandContext, UnitOfWork } from '@emporium/domain';
import { OutboxRelay } from '@emporium/messaging';
import type { Projection } from '@emporium/projections';
import {
  allEntities,
  anOrder,
  freePort,
  httpClient,
  isolatedEnvironment,
  poll,
  requireServices,
  SERVICE_URLS,
  type IsolatedEnvironment,
} from '@emporium/testing';
import { startProjector } from '../../apps/projector/src/bootstrap.js';

type Placed = DomainEvent<typeof OrderingEvents.OrderPlaced>;

/** A projection that is not part of the product: orders placed per customer. */
@Injectable()
class OrdersPerCustomer implements Projection<typeof OrderingEvents.OrderPlaced> {
  readonly name = 'orders-per-customer';
  readonly eventTypes = [OrderingEvents.OrderPlaced];
  readonly tables = ['test_orders_per_customer'];

  async apply(events: readonly Placed[], db: ReadDb): Promise<void> {
    const counts = new Map<string, number>();
    for (const e of events) counts.set(e.payload.customerId, (counts.get(e.payload.customerId) ?? 0) + 1);
    const rows = [...counts].sort(([a], [b]) => (a < b ? -1 : 1));
    await sql`insert into test_orders_per_customer (customer_id, orders)
        select * from unnest(${rows.map(([c]) => c)}::uuid[], ${rows.map(([, n]) => n)}::int[])
        on conflict (customer_id) do update set orders = test_orders_per_customer.orders + excluded.orders`.execute(db);
  }
}

/**
 * Adding a projection is one entry in the list the projector is given (@emporium/composition in
 * production): no controller, no transport change. The projector consumes its queue, applies its
 * events exactly once, and reports its lag and dead letters in /health.
 */
describe('a projection added to the list (real PostgreSQL and RabbitMQ)', () => {
  let env: IsolatedEnvironment;
  let orm: MikroORM;
  let projector: NestFastifyApplication;
  let relay: OutboxRelay;
  const projections = [...projectionTypes, OrdersPerCustomer];

  beforeAll(async () => {
    await requireServices();
    env = await isolatedEnvironment('asdata', allEntities);
    orm = await MikroORM.init(createOrmOptions(env.config, allEntities));
    await orm.em
      .fork()
      .getConnection()
      .execute('create table test_orders_per_customer (customer_id uuid primary key, orders int not null)');
    const config = AppConfig.fromEnvironment({ ...env.env, PROJECTOR_PORT: String(await freePort()) });
    relay = new OutboxRelay(config, subscriptionsOf(projections));
    await relay.start();
    projector = await startProjector(config, { shutdownHooks: false, projections });
  });

  afterAll(async () => {
    await projector?.close();
    await relay?.stop();
    await orm?.close();
    const connection = await connect(SERVICE_URLS.amqp);
    const channel = await connection.createChannel();
    for (const suffix of ['', '.dlq', '.retry.100ms', '.retry.200ms']) {
      await channel.deleteQueue(`${env.queuePrefix}.orders-per-customer${suffix}`).catch(() => undefined);
    }
    await connection.close();
    await env?.dispose();
  });

  it('is consumed, applied exactly once per event, and reported by health', async () => {
    const uow = new UnitOfWork(orm, env.config);
    const customer = crypto.randomUUID();
    for (let i = 0; i < 3; i++) {
      await uow.execute(CommandContext.system(), async () =>
        anOrder().forCustomer(customer).withLine({ unitPriceCents: 500 }).build(),
      );
    }
    const counted = await poll(
      async () =>
        (
          await orm.em
            .fork()
            .getConnection()
            .execute<Array<{ orders: number }>>('select orders from test_orders_per_customer where customer_id = ?', [
              customer,
            ])
        )[0]?.orders,
      (n) => n === 3,
      { what: 'the added projection to count three orders' },
    );
    expect(counted).toBe(3);
    const health = await httpClient(await projector.getUrl())('GET', '/health');
    expect(Object.keys(health.body.details)).toEqual(
      expect.arrayContaining(['projection:orders-per-customer', 'dlq:orders-per-customer']),
    );
  });
});
