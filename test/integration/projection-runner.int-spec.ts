/** @requires-services PostgreSQL RabbitMQ (see jest.config.js) */
import { MikroORM } from '@mikro-orm/postgresql';
import pg from 'pg';
import { Product } from '@emporium/catalog';
import { createProjections } from '@emporium/composition';
import { EventSchemaError, PoisonMessageError, type EventEnvelope } from '@emporium/contracts';
import { createOrmOptions } from '@emporium/database';
import { CommandContext, UnitOfWork } from '@emporium/domain';
import { classify } from '@emporium/messaging';
import { ProjectionRunner } from '@emporium/projections';
import { registry } from '@emporium/telemetry';
import {
  allEntities,
  anOrder,
  aProduct,
  isolatedEnvironment,
  requireServices,
  type IsolatedEnvironment,
} from '@emporium/testing';

describe('ProjectionRunner (real PostgreSQL)', () => {
  let env: IsolatedEnvironment;
  let orm: MikroORM;
  let uow: UnitOfWork;
  let runner: ProjectionRunner;

  let pool: pg.Pool;
  const query = async <T extends pg.QueryResultRow>(text: string, params: unknown[] = []): Promise<T[]> =>
    (await pool.query<T>(text, params)).rows;

  const stream = async (aggregateId: string): Promise<EventEnvelope[]> => {
    const rows = await query<Record<string, unknown>>(
      'select * from event_log where aggregate_id = $1 order by aggregate_version',
      [aggregateId],
    );
    return rows.map((r) => ({
      id: r.id as string,
      type: r.type as string,
      schemaVersion: r.schema_version as number,
      aggregateType: r.aggregate_type as string,
      aggregateId: r.aggregate_id as string,
      aggregateVersion: r.aggregate_version as number,
      position: String(r.position),
      occurredAt: new Date(r.occurred_at as string).toISOString(),
      payload: r.payload as object,
      metadata: r.metadata as EventEnvelope['metadata'],
    }));
  };

  const createProduct = async (stock = 5): Promise<string> => {
    const result = await uow.execute(CommandContext.system(), async () =>
      aProduct().named('Projected mug').describedAs('for projections').pricedAt(500).withStock(stock).build(),
    );
    return result.id;
  };
  const restock = (id: string, quantity: number): Promise<unknown> =>
    uow.execute(CommandContext.system(), async (em) => {
      const product = await em.findOneOrFail(Product, { id });
      product.restock(quantity);
      return product;
    });

  /** One delivery applied alone, in its own transaction. */
  const handle = async (projection: string, event: EventEnvelope): Promise<string> =>
    (await runner.applyInTransaction([{ projection, event }]))[0];
  /** A delivery through group commit, settled as the delivery core would classify it. */
  const settle = (projection: string, event: EventEnvelope) =>
    runner.apply(projection, event).then(
      (outcome) => ({ ok: true as const, outcome }),
      (error: Error) => ({ ok: false as const, kind: classify(error), reason: `${error.name}: ${error.message}` }),
    );
  const statements = async (projection: string): Promise<number> => {
    const metric = await registry.getSingleMetric('emporium_projection_statements_total')!.get();
    return metric.values.find((v) => v.labels.projection === projection)?.value ?? 0;
  };

  beforeAll(async () => {
    await requireServices();
    env = await isolatedEnvironment('runner', allEntities);
    orm = await MikroORM.init(createOrmOptions(env.config, allEntities));
    uow = new UnitOfWork(orm, env.config);
    pool = new pg.Pool({ connectionString: env.databaseUrl, max: 2 });
    runner = new ProjectionRunner(orm, createProjections());
  });

  afterAll(async () => {
    await pool?.end();
    await orm?.close();
    await env?.dispose();
  });

  it('applies a redelivered event once: the second delivery changes nothing', async () => {
    const id = await createProduct(5);
    const [created] = await stream(id);
    expect(await handle('catalog', created)).toBe('applied');
    expect(await handle('catalog', created)).toBe('duplicate');
    const inbox = await query<{ n: string }>('select count(*) as n from projection_inbox where event_id = $1', [
      created.id,
    ]);
    expect(Number(inbox[0].n)).toBe(1);
    const [row] = await query<{ stock: number; version: number }>(
      'select stock, version from read_catalog_products where id = $1',
      [id],
    );
    expect(row).toEqual({ stock: 5, version: 1 });
  });

  it('applies events in version order: a gap is filled from event_log, late arrivals are skipped', async () => {
    const id = await createProduct(1);
    await restock(id, 2);
    await restock(id, 4);
    const [v1, v2, v3] = await stream(id);

    expect(await handle('catalog', v3)).toBe('applied'); // fills v1 and v2 first
    const [row] = await query<{ stock: number; version: number }>(
      'select stock, version from read_catalog_products where id = $1',
      [id],
    );
    expect(row).toEqual({ stock: 7, version: 3 });
    expect(await handle('catalog', v1)).toBe('duplicate');
    expect(await handle('catalog', v2)).toBe('duplicate');
    const inbox = await query<{ n: string }>(
      "select count(*) as n from projection_inbox where projection = 'catalog' and event_id = any($1::uuid[])",
      [[v1.id, v2.id, v3.id]],
    );
    expect(Number(inbox[0].n)).toBe(3);
  });

  it('serialises concurrent deliveries of one aggregate (several consumers on one queue)', async () => {
    const id = await createProduct(0);
    for (let i = 1; i <= 5; i++) await restock(id, i);
    const events = await stream(id);
    const outcomes = await Promise.all(
      [...events, ...events].map((e) => settle('catalog', e).then((s) => (s.ok ? s.outcome : s.reason))),
    );
    expect(outcomes.filter((o) => o === 'applied').length).toBeLessThanOrEqual(events.length);
    const [row] = await query<{ stock: number; version: number }>(
      'select stock, version from read_catalog_products where id = $1',
      [id],
    );
    expect(row).toEqual({ stock: 15, version: 6 });
    const inbox = await query<{ n: string }>(
      "select count(*) as n from projection_inbox where projection = 'catalog' and event_id = any($1::uuid[])",
      [events.map((e) => e.id)],
    );
    expect(Number(inbox[0].n)).toBe(6);
  });

  it('applies deliveries arriving together in one transaction (group commit) and settles each', async () => {
    const ids = await Promise.all([createProduct(1), createProduct(2), createProduct(3)]);
    for (const id of ids) await restock(id, 10);
    const streams = await Promise.all(ids.map(stream));
    const events = streams.flat();
    // Aggregates interleaved in reverse, plus a redelivery, as a broker may hand them over (each
    // stream's own versions stay in order, so no delivery fills another's gap).
    const deliveries = [0, 1].flatMap((version) => streams.map((s) => s[version]).reverse()).concat(events[0]);
    const settlements = await Promise.all(deliveries.map((e) => settle('catalog', e)));

    expect(settlements.every((s) => s.ok)).toBe(true);
    expect(settlements.filter((s) => s.ok && s.outcome === 'applied').length).toBeLessThanOrEqual(events.length);
    const rows = await query<{ id: string; stock: number; version: number }>(
      'select id, stock, version from read_catalog_products where id = any($1::uuid[]) order by stock',
      [ids],
    );
    expect(rows.map((r) => [r.stock, r.version])).toEqual([
      [11, 2],
      [12, 2],
      [13, 2],
    ]);
    // Rows written by one transaction share its id (xmin): fewer transactions than events.
    const [tx] = await query<{ events: string; transactions: string }>(
      `select count(*) as events, count(distinct xmin::text) as transactions from projection_inbox
        where projection = 'catalog' and event_id = any($1::uuid[])`,
      [events.map((e) => e.id)],
    );
    expect(Number(tx.events)).toBe(events.length);
    expect(Number(tx.transactions)).toBeLessThan(events.length);
  });

  it('batches a projection whose rows are shared across aggregates (sales), and replicas never deadlock on them', async () => {
    const products = await Promise.all([createProduct(100), createProduct(100), createProduct(100)]);
    const placed = await Promise.all(
      Array.from({ length: 12 }, async (_, i) => {
        const orderId = crypto.randomUUID();
        // Every order touches the same day rows, in a different product order.
        const order = anOrder().withId(orderId);
        for (const k of [0, 1, 2]) order.withLine({ productId: products[(i + k) % 3], unitPriceCents: 500 });
        await uow.execute(CommandContext.system(), async () => order.build());
        return (await stream(orderId))[0];
      }),
    );
    // Two replicas, each batching its half, at once.
    const other = new ProjectionRunner(orm, createProjections());
    const settlements = await Promise.all(
      placed.map((e, i) =>
        (i % 2 ? other : runner).apply('sales', e).then(
          () => 'applied',
          (error: Error) => error.message,
        ),
      ),
    );
    expect(settlements).toEqual(placed.map(() => 'applied'));
    const [tx] = await query<{ transactions: string }>(
      `select count(distinct xmin::text) as transactions from projection_inbox
        where projection = 'sales' and event_id = any($1::uuid[])`,
      [placed.map((e) => e.id)],
    );
    expect(Number(tx.transactions)).toBeLessThan(placed.length);
    const rows = await query<{ units: number; revenue_cents: string }>(
      'select units, revenue_cents from read_sales_daily where product_id = any($1::uuid[])',
      [products],
    );
    expect(rows.map((r) => [r.units, Number(r.revenue_cents)])).toEqual([
      [12, 6000],
      [12, 6000],
      [12, 6000],
    ]);
  });

  it('applies a batch with a fixed number of statements, whatever its size', async () => {
    const ids = await Promise.all(Array.from({ length: 8 }, () => createProduct(1)));
    for (const id of ids) await restock(id, 1);
    const events = (await Promise.all(ids.map(stream))).flat();
    const before = await statements('catalog');
    const outcomes = await runner.applyInTransaction(events.map((event) => ({ projection: 'catalog', event })));
    expect(outcomes).toEqual(events.map(() => 'applied'));
    // 16 events: BEGIN, the events with their locked streams, streams advanced + inbox, one insert
    // (each product's creation and restock folded into its row), one NOTIFY for the api caches, COMMIT.
    expect((await statements('catalog')) - before).toBe(6);
    const rows = await query<{ stock: number; version: number }>(
      'select stock, version from read_catalog_products where id = any($1::uuid[])',
      [ids],
    );
    expect(rows.map((r) => [r.stock, r.version])).toEqual(ids.map(() => [2, 2]));
  });

  it('refuses an event whose payload does not fit its schema as poison, with the schema message', async () => {
    const id = await createProduct(1);
    await pool.query(
      `insert into event_log (id, type, schema_version, aggregate_type, aggregate_id, aggregate_version, occurred_at, payload, metadata)
       values (gen_random_uuid(), 'catalog.product.restocked', 1, 'Product', $1, 2, now(), '{"quantity": 1, "stock": "many"}',
               '{"actor":"test","correlationId":"c","causationId":"c"}')`,
      [id],
    );
    const [, bad] = await stream(id);
    const settlement = await settle('catalog', bad);
    expect(settlement).toEqual({
      ok: false,
      kind: 'poison',
      reason: expect.stringMatching(/EventSchemaError: .*stock/),
    });
    await expect(handle('catalog', bad)).rejects.toThrow(EventSchemaError);
  });

  it('settles each delivery of a failed batch on its own: one poison message spoils nothing else', async () => {
    const ids = await Promise.all([createProduct(4), createProduct(5)]);
    const events = (await Promise.all(ids.map(stream))).flat();
    const forged = { ...events[0], id: crypto.randomUUID() };
    const settlements = await Promise.all([events[0], forged, events[1]].map((e) => settle('catalog', e)));

    expect(settlements[0]).toEqual({ ok: true, outcome: 'applied' });
    expect(settlements[1]).toEqual({ ok: false, kind: 'poison', reason: expect.stringMatching(/not in event_log/) });
    expect(settlements[2]).toEqual({ ok: true, outcome: 'applied' });
    const rows = await query('select 1 from read_catalog_products where id = any($1::uuid[])', [ids]);
    expect(rows).toHaveLength(2);
  });

  it('refuses a message that is not in event_log, or does not match it, as poison', async () => {
    const id = await createProduct(1);
    const [created] = await stream(id);
    await expect(handle('catalog', { ...created, id: crypto.randomUUID() })).rejects.toThrow(PoisonMessageError);
    await expect(handle('catalog', { ...created, aggregateId: crypto.randomUUID() })).rejects.toThrow(
      PoisonMessageError,
    );
    await expect(handle('orders', created)).rejects.toThrow(/does not handle/);
    const rows = await query('select 1 from read_catalog_products where id = $1', [id]);
    expect(rows).toHaveLength(0);
  });
});
