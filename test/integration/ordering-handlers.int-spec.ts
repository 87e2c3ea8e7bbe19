/** @requires-services PostgreSQL RabbitMQ (see jest.config.js) */
import { Module, type DynamicModule, type INestApplicationContext } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { CommandBus, CqrsModule } from '@nestjs/cqrs';
import { MikroORM } from '@mikro-orm/postgresql';
import pg from 'pg';
import { AppConfig, ConfigModule } from '@emporium/config';
import {
  CatalogModule,
  ChangePrice,
  OutOfStock,
  Product,
  ProductsUnavailable,
  StaleProductVersion,
  type StockShortage,
} from '@emporium/catalog';
import { allEntities, createProjections } from '@emporium/composition';
import { CatalogEvents, OrderingEvents } from '@emporium/contracts';
import { DatabaseModule } from '@emporium/database';
import {
  CommandContext,
  DomainModule,
  EVENT_ROW_COLUMNS,
  Money,
  toEnvelope,
  UnitOfWork,
  type AggregateRoot,
  type CommandResult,
  type EventRow,
} from '@emporium/domain';
import {
  CancelOrder,
  InvalidOrder,
  InvalidOrderState,
  MixedCurrencies,
  OnlyOwnerPays,
  OrderingModule,
  OrderNotFound,
  PayOrder,
  PlaceOrder,
  ShipOrder,
} from '@emporium/ordering';
import { ProjectionRunner } from '@emporium/projections';
import {
  aCustomer,
  actingAs,
  anAdmin,
  aProduct,
  isolatedEnvironment,
  requireServices,
  type IsolatedEnvironment,
} from '@emporium/testing';

/** The write side as the api wires it, without HTTP: the real modules, ORM and unit of work. */
@Module({})
class WriteSideModule {
  static forRoot(config: AppConfig): DynamicModule {
    return {
      module: WriteSideModule,
      imports: [
        ConfigModule.forRoot(config),
        DatabaseModule.forRoot(allEntities, 'emporium-handler-tests'),
        CqrsModule.forRoot(),
        DomainModule,
        CatalogModule,
        OrderingModule,
      ],
    };
  }
}

/**
 * The ordering command handlers against a migrated database of their own (immich's "medium"
 * tests): each branch through the command bus, asserting what the handler returns or throws,
 * the rows it leaves and the event_log rows it writes, or that it wrote none.
 */
describe('ordering command handlers (real PostgreSQL)', () => {
  let env: IsolatedEnvironment;
  let app: INestApplicationContext;
  let commands: CommandBus;
  let uow: UnitOfWork;
  let db: pg.Pool;

  const customer = aCustomer().existing();
  const other = aCustomer().existing();
  const admin = anAdmin().existing();

  beforeAll(async () => {
    await requireServices();
    env = await isolatedEnvironment('ordering_handlers', allEntities);
    app = await NestFactory.createApplicationContext(WriteSideModule.forRoot(env.config), { logger: false });
    await app.init();
    commands = app.get(CommandBus);
    uow = app.get(UnitOfWork);
    db = new pg.Pool({ connectionString: env.databaseUrl, max: 4 });
  });

  afterAll(async () => {
    await app?.close();
    await db?.end();
    await env?.dispose();
  });

  /** Stores aggregates as one command would, with their pending events. */
  const seed = async <T extends AggregateRoot>(primary: T, ...others: AggregateRoot[]): Promise<T> => {
    await uow.execute(CommandContext.system(), async (em) => {
      em.persist(others);
      return primary;
    });
    return primary;
  };
  const products = (...builders: Array<ReturnType<typeof aProduct>>): Promise<Product[]> =>
    Promise.all(builders.map((b) => seed(b.build())));

  const place = (
    who: { id: string; roles: readonly string[] },
    lines: Array<{ productId: string; quantity: number }>,
  ): Promise<CommandResult> => commands.execute(new PlaceOrder(actingAs(who), lines));
  const placeFor = async (product: Product, quantity = 1): Promise<string> =>
    (await place(customer, [{ productId: product.id, quantity }])).id;

  const query = async <T extends pg.QueryResultRow>(text: string, params: unknown[] = []): Promise<T[]> =>
    (await db.query<T>(text, params)).rows;
  const eventCount = async (): Promise<number> =>
    Number((await query<{ n: string }>('select count(*) as n from event_log'))[0].n);
  const events = (aggregateId: string): Promise<EventRow[]> =>
    query<EventRow>(`select ${EVENT_ROW_COLUMNS} from event_log where aggregate_id = $1 order by aggregate_version`, [
      aggregateId,
    ]);
  const stockOf = async (id: string): Promise<{ stock: number; stream_version: number }> =>
    (
      await query<{ stock: number; stream_version: number }>(
        'select stock, stream_version from products where id = $1',
        [id],
      )
    )[0];
  const orderRow = async (id: string): Promise<Record<string, unknown> | undefined> =>
    (await query('select status, lines, total_cents, currency, stream_version from orders where id = $1', [id]))[0];

  /** Runs `act`, expects it to throw `error`, and proves it wrote nothing at all. */
  const refusedWithoutChanges = async (act: () => Promise<unknown>, error: unknown): Promise<Error> => {
    const before = await eventCount();
    const thrown = await act().then(
      () => undefined,
      (e: unknown) => e as Error,
    );
    expect(thrown).toEqual(error);
    expect(await eventCount()).toBe(before);
    return thrown!;
  };

  describe('PlaceOrder', () => {
    it('places the order, reserves every line, and writes each event at its stream version', async () => {
      const [mug, apron] = await products(
        aProduct().pricedAt(1299).withStock(5),
        aProduct().pricedAt(450).withStock(2),
      );
      const result = await place(customer, [
        { productId: mug.id, quantity: 2 },
        { productId: apron.id, quantity: 1 },
      ]);

      expect(result).toEqual({ id: expect.any(String), version: 1, position: expect.stringMatching(/^\d+$/) });
      expect(await orderRow(result.id)).toEqual({
        status: 'placed',
        total_cents: String(2 * 1299 + 450),
        currency: 'EUR',
        stream_version: 1,
        lines: expect.arrayContaining([
          { productId: mug.id, name: mug.name, category: mug.category, quantity: 2, unitPriceCents: 1299 },
          { productId: apron.id, name: apron.name, category: apron.category, quantity: 1, unitPriceCents: 450 },
        ]),
      });
      expect(await stockOf(mug.id)).toEqual({ stock: 3, stream_version: 2 });
      expect(await stockOf(apron.id)).toEqual({ stock: 1, stream_version: 2 });

      const [placed] = await events(result.id);
      expect(placed).toMatchObject({
        type: OrderingEvents.OrderPlaced,
        aggregate_type: 'Order',
        aggregate_version: 1,
        payload: { customerId: customer.id, totalCents: 3048, currency: 'EUR' },
        metadata: { actor: customer.id },
      });
      for (const [product, quantity, stock] of [
        [mug, 2, 3],
        [apron, 1, 1],
      ] as const) {
        expect((await events(product.id)).map((e) => [e.type, e.aggregate_version, e.payload])).toEqual([
          [CatalogEvents.ProductCreated, 1, expect.any(Object)],
          [CatalogEvents.StockReserved, 2, { orderId: result.id, quantity, stock }],
        ]);
      }
      // The position answered is the command's last event.
      const positions = [placed, ...(await events(mug.id)), ...(await events(apron.id))].map((e) => BigInt(e.position));
      expect(BigInt(result.position)).toBe(positions.reduce((a, b) => (a > b ? a : b)));
    });

    it('makes one line of a product asked for twice', async () => {
      const [mug] = await products(aProduct().withStock(5));
      const { id } = await place(customer, [
        { productId: mug.id, quantity: 1 },
        { productId: mug.id, quantity: 2 },
      ]);
      expect((await orderRow(id))?.lines).toEqual([expect.objectContaining({ productId: mug.id, quantity: 3 })]);
      expect(await stockOf(mug.id)).toEqual({ stock: 2, stream_version: 2 });
    });

    it('refuses more than 1000 units of one product, even across lines, before touching anything', async () => {
      const [mug] = await products(aProduct().withStock(5000));
      await refusedWithoutChanges(
        () =>
          place(customer, [
            { productId: mug.id, quantity: 600 },
            { productId: mug.id, quantity: 401 },
          ]),
        expect.any(InvalidOrder),
      );
      expect(await stockOf(mug.id)).toEqual({ stock: 5000, stream_version: 1 });
    });

    it('refuses unknown and discontinued products together, naming the discontinued ones', async () => {
      const [retired, fine] = await products(
        aProduct().named('Retired teapot').withSku('TEA-OLD').withStock(3).discontinued(),
        aProduct().withStock(3),
      );
      const unknownId = crypto.randomUUID();
      const error = await refusedWithoutChanges(
        () =>
          place(customer, [
            { productId: retired.id, quantity: 1 },
            { productId: unknownId, quantity: 1 },
            { productId: fine.id, quantity: 1 },
          ]),
        expect.any(ProductsUnavailable),
      );
      expect((error as ProductsUnavailable).details).toEqual({
        unknownProducts: [unknownId],
        discontinuedProducts: [{ productId: retired.id, sku: 'TEA-OLD', name: 'Retired teapot' }],
      });
      expect(error.message).toContain('Retired teapot (SKU TEA-OLD');
      expect(await stockOf(fine.id)).toEqual({ stock: 3, stream_version: 1 });
    });

    it('refuses products priced in different currencies', async () => {
      const [euro, dollar] = await products(aProduct().pricedAt(100, 'EUR'), aProduct().pricedAt(100, 'USD'));
      await refusedWithoutChanges(
        () =>
          place(customer, [
            { productId: euro.id, quantity: 1 },
            { productId: dollar.id, quantity: 1 },
          ]),
        expect.any(MixedCurrencies),
      );
      expect(await stockOf(euro.id)).toEqual({ stock: 5, stream_version: 1 });
    });

    it('reserves all lines or none: a shortage on one names it and leaves the others untouched', async () => {
      const [plenty, scarce] = await products(
        aProduct().withStock(5),
        aProduct().named('Scarce spoon').withSku('SPOON-1').withStock(1),
      );
      const error = await refusedWithoutChanges(
        () =>
          place(customer, [
            { productId: plenty.id, quantity: 2 },
            { productId: scarce.id, quantity: 2 },
          ]),
        expect.any(OutOfStock),
      );
      expect((error as OutOfStock).shortages).toEqual([
        { productId: scarce.id, sku: 'SPOON-1', name: 'Scarce spoon', requested: 2, available: 1 },
      ]);
      expect(await stockOf(plenty.id)).toEqual({ stock: 5, stream_version: 1 });
      expect(await stockOf(scarce.id)).toEqual({ stock: 1, stream_version: 1 });
    });

    it('gives exactly 3 of 8 concurrent orders the last 3 units and refuses the other 5 as out of stock', async () => {
      const [hot] = await products(aProduct().named('Hot kettle').withSku('KETTLE-1').withStock(3));
      const buyers = Array.from({ length: 8 }, () => aCustomer().existing());
      const outcomes = await Promise.allSettled(buyers.map((b) => place(b, [{ productId: hot.id, quantity: 1 }])));

      const placed = outcomes.filter((o) => o.status === 'fulfilled').map((o) => o.value);
      const refused = outcomes.filter((o) => o.status === 'rejected').map((o) => o.reason as unknown);
      expect(placed).toHaveLength(3);
      expect(refused).toHaveLength(5);
      for (const error of refused) {
        expect(error).toBeInstanceOf(OutOfStock);
        expect((error as OutOfStock).shortages).toEqual<StockShortage[]>([
          { productId: hot.id, sku: 'KETTLE-1', name: 'Hot kettle', requested: 1, available: 0 },
        ]);
      }
      expect(await stockOf(hot.id)).toEqual({ stock: 0, stream_version: 4 });
      const reservations = (await events(hot.id)).filter((e) => e.type === CatalogEvents.StockReserved);
      expect(reservations.map((e) => e.aggregate_version)).toEqual([2, 3, 4]);
      expect(reservations.map((e) => (e.payload as { orderId: string }).orderId).sort()).toEqual(
        placed.map((p) => p.id).sort(),
      );
      const stored = await query('select id from orders where id = any($1::uuid[])', [placed.map((p) => p.id)]);
      expect(stored).toHaveLength(3);
    });
  });

  describe('CancelOrder', () => {
    it("cancels its owner's order and gives the stock back in the same transaction", async () => {
      const [mug] = await products(aProduct().withStock(5));
      const orderId = await placeFor(mug, 2);
      const result = await commands.execute(new CancelOrder(actingAs(customer), orderId));

      expect(result).toEqual({ id: orderId, version: 2, position: expect.any(String) });
      expect(await orderRow(orderId)).toMatchObject({ status: 'cancelled', stream_version: 2 });
      expect(await stockOf(mug.id)).toEqual({ stock: 5, stream_version: 3 });
      expect((await events(orderId)).map((e) => [e.type, e.aggregate_version])).toEqual([
        [OrderingEvents.OrderPlaced, 1],
        [OrderingEvents.OrderCancelled, 2],
      ]);
      expect((await events(orderId))[1].payload).toMatchObject({ reason: 'cancelled by customer', totalCents: 2598 });
      expect((await events(mug.id)).at(-1)).toMatchObject({
        type: CatalogEvents.StockReleased,
        aggregate_version: 3,
        payload: { orderId, quantity: 2, stock: 5 },
      });
    });

    it('lets an admin cancel a customer order, saying so', async () => {
      const [mug] = await products(aProduct());
      const orderId = await placeFor(mug);
      await commands.execute(new CancelOrder(actingAs(admin), orderId));
      expect((await events(orderId)).at(-1)?.payload).toMatchObject({ reason: 'cancelled by admin' });
      expect(await stockOf(mug.id)).toMatchObject({ stock: 5 });
    });

    it('cancels a paid order too', async () => {
      const [mug] = await products(aProduct());
      const orderId = await placeFor(mug);
      await commands.execute(new PayOrder(actingAs(customer), orderId));
      const result = await commands.execute(new CancelOrder(actingAs(customer), orderId));
      expect(result.version).toBe(3);
      expect(await orderRow(orderId)).toMatchObject({ status: 'cancelled' });
      expect(await stockOf(mug.id)).toMatchObject({ stock: 5 });
    });

    it('gives back stock of a product discontinued since the order', async () => {
      const [mug] = await products(aProduct().withStock(2));
      const orderId = await placeFor(mug, 2);
      await uow.execute(CommandContext.system(), async (em) => {
        const product = await em.findOneOrFail(Product, { id: mug.id });
        product.discontinue();
        return product;
      });
      await commands.execute(new CancelOrder(actingAs(customer), orderId));
      expect(await stockOf(mug.id)).toEqual({ stock: 2, stream_version: 4 });
    });

    it('refuses a shipped order and an order cancelled already, changing nothing', async () => {
      const [mug] = await products(aProduct());
      const shipped = await placeFor(mug);
      await commands.execute(new PayOrder(actingAs(customer), shipped));
      await commands.execute(new ShipOrder(actingAs(admin), shipped));
      await refusedWithoutChanges(
        () => commands.execute(new CancelOrder(actingAs(customer), shipped)),
        expect.any(InvalidOrderState),
      );
      const cancelled = await placeFor(mug);
      await commands.execute(new CancelOrder(actingAs(customer), cancelled));
      await refusedWithoutChanges(
        () => commands.execute(new CancelOrder(actingAs(admin), cancelled)),
        expect.any(InvalidOrderState),
      );
      expect(await orderRow(shipped)).toMatchObject({ status: 'shipped', stream_version: 3 });
      expect(await stockOf(mug.id)).toMatchObject({ stock: 4 });
    });

    it("answers another customer's order and an unknown id alike: not found", async () => {
      const [mug] = await products(aProduct());
      const orderId = await placeFor(mug);
      await refusedWithoutChanges(
        () => commands.execute(new CancelOrder(actingAs(other), orderId)),
        new OrderNotFound(orderId),
      );
      const unknown = crypto.randomUUID();
      await refusedWithoutChanges(
        () => commands.execute(new CancelOrder(actingAs(other), unknown)),
        new OrderNotFound(unknown),
      );
      expect(await orderRow(orderId)).toMatchObject({ status: 'placed' });
    });
  });

  describe('PayOrder', () => {
    it('is paid by its owner', async () => {
      const [mug] = await products(aProduct().pricedAt(700));
      const orderId = await placeFor(mug, 3);
      const result = await commands.execute(new PayOrder(actingAs(customer), orderId));
      expect(result.version).toBe(2);
      expect(await orderRow(orderId)).toMatchObject({ status: 'paid', stream_version: 2 });
      expect((await events(orderId))[1]).toMatchObject({
        type: OrderingEvents.OrderPaid,
        aggregate_version: 2,
        payload: { amountCents: 2100 },
      });
    });

    it('refuses paying twice and paying a cancelled order, changing nothing', async () => {
      const [mug] = await products(aProduct());
      const paid = await placeFor(mug);
      await commands.execute(new PayOrder(actingAs(customer), paid));
      await refusedWithoutChanges(
        () => commands.execute(new PayOrder(actingAs(customer), paid)),
        expect.any(InvalidOrderState),
      );
      const cancelled = await placeFor(mug);
      await commands.execute(new CancelOrder(actingAs(customer), cancelled));
      await refusedWithoutChanges(
        () => commands.execute(new PayOrder(actingAs(customer), cancelled)),
        expect.any(InvalidOrderState),
      );
      expect(await orderRow(cancelled)).toMatchObject({ status: 'cancelled', stream_version: 2 });
    });

    it('refuses an admin, who sees the order, with the rule; another customer gets not found', async () => {
      const [mug] = await products(aProduct());
      const orderId = await placeFor(mug);
      const error = await refusedWithoutChanges(
        () => commands.execute(new PayOrder(actingAs(admin), orderId)),
        expect.any(OnlyOwnerPays),
      );
      expect(error).toMatchObject({ kind: 'forbidden', code: 'only-owner-pays' });
      await refusedWithoutChanges(
        () => commands.execute(new PayOrder(actingAs(other), orderId)),
        new OrderNotFound(orderId),
      );
      expect(await orderRow(orderId)).toMatchObject({ status: 'placed', stream_version: 1 });
    });
  });

  describe('stream versions', () => {
    it('gives two events of one command consecutive versions; If-Match and the read model use the same number', async () => {
      const [mug] = await products(aProduct().pricedAt(1000).withStock(1));
      const result = await uow.execute(CommandContext.system(), async (em) => {
        const product = await em.findOneOrFail(Product, { id: mug.id });
        product.restock(4);
        product.changePrice(Money.of(1200, 'EUR'));
        return product;
      });

      expect(result.version).toBe(3);
      expect(await stockOf(mug.id)).toEqual({ stock: 5, stream_version: 3 });
      const stream = await events(mug.id);
      expect(stream.map((e) => [e.type, e.aggregate_version])).toEqual([
        [CatalogEvents.ProductCreated, 1],
        [CatalogEvents.Restocked, 2],
        [CatalogEvents.PriceChanged, 3],
      ]);

      const runner = new ProjectionRunner(app.get(MikroORM), createProjections());
      await runner.applyInTransaction(stream.map((row) => ({ projection: 'catalog', event: toEnvelope(row) })));
      const [read] = await query<{ version: number; price_cents: number }>(
        'select version, price_cents from read_catalog_products where id = $1',
        [mug.id],
      );
      expect(read).toEqual({ version: 3, price_cents: 1200 });

      const before = await eventCount();
      await expect(commands.execute(new ChangePrice(actingAs(admin), mug.id, 1300, 2))).rejects.toBeInstanceOf(
        StaleProductVersion,
      );
      expect(await eventCount()).toBe(before);
      const changed = await commands.execute(new ChangePrice(actingAs(admin), mug.id, 1300, read.version));
      expect(changed.version).toBe(4);
    });

    it('runs a command again when another changed the same version first (event_log keeps the streams apart)', async () => {
      const [mug] = await products(aProduct().withStock(5));
      let attempts = 0;
      let loaded!: () => void;
      const firstLoaded = new Promise<void>((resolve) => (loaded = resolve));
      let release!: () => void;
      const secondDone = new Promise<void>((resolve) => (release = resolve));
      // The first command reads version 1 without a lock and waits while a second one commits
      // version 2; its write then meets version 2 in event_log, rolls back and runs again.
      const first = uow.execute(CommandContext.system(), async (em) => {
        attempts += 1;
        const product = await em.findOneOrFail(Product, { id: mug.id });
        if (attempts === 1) {
          loaded();
          await secondDone;
        }
        product.restock(1);
        return product;
      });
      await firstLoaded;
      await uow.execute(CommandContext.system(), async (em) => {
        const product = await em.findOneOrFail(Product, { id: mug.id });
        product.restock(10);
        return product;
      });
      release();
      expect((await first).version).toBe(3);
      expect(attempts).toBe(2);
      expect(await stockOf(mug.id)).toEqual({ stock: 16, stream_version: 3 });
      expect((await events(mug.id)).map((e) => [e.type, e.aggregate_version])).toEqual([
        [CatalogEvents.ProductCreated, 1],
        [CatalogEvents.Restocked, 2],
        [CatalogEvents.Restocked, 3],
      ]);
    });

    it('refuses a command that changes an aggregate without recording an event, writing nothing', async () => {
      const [mug, cup] = await products(aProduct().withStock(5), aProduct().withStock(5));
      await refusedWithoutChanges(
        () =>
          uow.execute(CommandContext.system(), async (em) => {
            const [a, b] = await Promise.all([
              em.findOneOrFail(Product, { id: mug.id }),
              em.findOneOrFail(Product, { id: cup.id }),
            ]);
            a.restock(1);
            Object.assign(b, { stock: 9 }); // a change no event tells of
            return a;
          }),
        new Error('Product changed without recording an event'),
      );
      expect(await stockOf(mug.id)).toEqual({ stock: 5, stream_version: 1 });
      expect(await stockOf(cup.id)).toEqual({ stock: 5, stream_version: 1 });
    });

    it('refuses a writer that loaded an older version (the stream version is the optimistic lock)', async () => {
      const [mug] = await products(aProduct());
      const em = app.get(MikroORM).em.fork();
      const stale = await em.findOneOrFail(Product, { id: mug.id });
      await commands.execute(new ChangePrice(actingAs(admin), mug.id, 1500));
      stale.restock(1);
      await expect(em.flush()).rejects.toMatchObject({ name: 'OptimisticLockError' });
      expect(await stockOf(mug.id)).toEqual({ stock: 5, stream_version: 2 });
    });
  });
});
