/** @requires-services PostgreSQL RabbitMQ (see jest.config.js) */
import { MikroORM } from '@mikro-orm/postgresql';
import pg from 'pg';
import { Product } from '@emporium/catalog';
import { createProjections } from '@emporium/composition';
import { Order } from '@emporium/ordering';
import type { EventEnvelope } from '@emporium/contracts';
import { createOrmOptions } from '@emporium/database';
import { CommandContext, PoisonMessageError, ProjectionRunner, UnitOfWork } from '@emporium/messaging';
import { allEntities, isolatedEnvironment, requireServices, type IsolatedEnvironment } from '@emporium/testing';

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
    const result = await uow.execute(
      CommandContext.system(),
      async () =>
        new Product({
          id: crypto.randomUUID(),
          sku: `SKU-${crypto.randomUUID().slice(0, 8)}`,
          name: 'Projected mug',
          description: 'for projections',
          category: 'kitchen',
          priceCents: 500,
          currency: 'EUR',
          stock,
        }),
    );
    return result.id;
  };
  const restock = (id: string, quantity: number): Promise<unknown> =>
    uow.execute(CommandContext.system(), async (em) => {
      const product = await em.findOneOrFail(Product, { id });
      product.restock(quantity);
      return product;
    });

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
    expect(await runner.handle('catalog', created)).toBe('applied');
    expect(await runner.handle('catalog', created)).toBe('duplicate');
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

    expect(await runner.handle('catalog', v3)).toBe('applied'); // fills v1 and v2 first
    const [row] = await query<{ stock: number; version: number }>(
      'select stock, version from read_catalog_products where id = $1',
      [id],
    );
    expect(row).toEqual({ stock: 7, version: 3 });
    expect(await runner.handle('catalog', v1)).toBe('duplicate');
    expect(await runner.handle('catalog', v2)).toBe('duplicate');
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
    const outcomes = await Promise.all([...events, ...events].map((e) => runner.handle('catalog', e)));
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
    const settlements = await Promise.all(deliveries.map((e) => runner.settle('catalog', e)));

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

  it('applies a projection whose rows are shared across aggregates (sales) one event per transaction', async () => {
    const productId = await createProduct(100);
    const placed = await Promise.all(
      [1, 2, 3, 4].map(async () => {
        const orderId = crypto.randomUUID();
        await uow.execute(
          CommandContext.system(),
          async () =>
            new Order({
              id: orderId,
              customerId: crypto.randomUUID(),
              currency: 'EUR',
              lines: [{ productId, name: 'Projected mug', category: 'kitchen', quantity: 1, unitPriceCents: 500 }],
            }),
        );
        return (await stream(orderId))[0];
      }),
    );
    const settlements = await Promise.all(placed.map((e) => runner.settle('sales', e)));
    expect(settlements.every((s) => s.ok)).toBe(true);
    const [tx] = await query<{ transactions: string }>(
      `select count(distinct xmin::text) as transactions from projection_inbox
        where projection = 'sales' and event_id = any($1::uuid[])`,
      [placed.map((e) => e.id)],
    );
    expect(Number(tx.transactions)).toBe(placed.length);
    const [row] = await query<{ units: number }>('select units from read_sales_daily where product_id = $1', [
      productId,
    ]);
    expect(row.units).toBe(4);
  });

  it('settles each delivery of a failed batch on its own: one poison message spoils nothing else', async () => {
    const ids = await Promise.all([createProduct(4), createProduct(5)]);
    const events = (await Promise.all(ids.map(stream))).flat();
    const forged = { ...events[0], id: crypto.randomUUID() };
    const settlements = await Promise.all([events[0], forged, events[1]].map((e) => runner.settle('catalog', e)));

    expect(settlements[0]).toEqual({ ok: true, outcome: 'applied' });
    expect(settlements[1]).toEqual({ ok: false, kind: 'poison', reason: expect.stringMatching(/not in event_log/) });
    expect(settlements[2]).toEqual({ ok: true, outcome: 'applied' });
    const rows = await query('select 1 from read_catalog_products where id = any($1::uuid[])', [ids]);
    expect(rows).toHaveLength(2);
  });

  it('refuses a message that is not in event_log, or does not match it, as poison', async () => {
    const id = await createProduct(1);
    const [created] = await stream(id);
    await expect(runner.handle('catalog', { ...created, id: crypto.randomUUID() })).rejects.toThrow(PoisonMessageError);
    await expect(runner.handle('catalog', { ...created, aggregateId: crypto.randomUUID() })).rejects.toThrow(
      PoisonMessageError,
    );
    await expect(runner.handle('orders', created)).rejects.toThrow(/does not handle/);
    const rows = await query('select 1 from read_catalog_products where id = $1', [id]);
    expect(rows).toHaveLength(0);
  });
});
