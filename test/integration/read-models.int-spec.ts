/** @requires-services PostgreSQL (see jest.config.js) */
import { MikroORM } from '@mikro-orm/postgresql';
import pg from 'pg';
import { Product } from '@emporium/catalog';
import { createProjections } from '@emporium/composition';
import type { EventEnvelope } from '@emporium/contracts';
import { createOrmOptions, READ_MODEL_COLUMNS } from '@emporium/database';
import { CommandContext, UnitOfWork } from '@emporium/domain';
import { ProjectionRunner } from '@emporium/projections';
import {
  allEntities,
  aProduct,
  compareWithRebuild,
  isolatedEnvironment,
  requireServices,
  type IsolatedEnvironment,
} from '@emporium/testing';

/** The read models' typed schema against the migrated database, and the categories read model. */
describe('read models (real PostgreSQL)', () => {
  let env: IsolatedEnvironment;
  let orm: MikroORM;
  let uow: UnitOfWork;
  let runner: ProjectionRunner;
  let pool: pg.Pool;

  beforeAll(async () => {
    await requireServices();
    env = await isolatedEnvironment('read_models', allEntities);
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

  it('types exactly the columns the migrations create (ReadModels, READ_MODEL_COLUMNS)', async () => {
    const { rows } = await pool.query<{ table_name: string; column_name: string }>(
      `select table_name, column_name from information_schema.columns
        where table_schema = 'public' and table_name = any($1) order by table_name, column_name`,
      [Object.keys(READ_MODEL_COLUMNS)],
    );
    const inDatabase: Record<string, string[]> = {};
    for (const row of rows) (inDatabase[row.table_name] ??= []).push(row.column_name);
    const typed = Object.fromEntries(
      Object.entries(READ_MODEL_COLUMNS).map(([table, columns]) => [table, Object.keys(columns).sort()]),
    );
    expect(inDatabase).toEqual(typed);
  });

  const events = async (ids: string[]): Promise<EventEnvelope[]> =>
    (
      await pool.query<{ id: string; type: string; aggregate_id: string }>(
        `select id, type, aggregate_id from event_log where aggregate_id = any($1::uuid[]) order by position`,
        [ids],
      )
    ).rows.map((r) => ({ id: r.id, type: r.type, aggregateId: r.aggregate_id }) as EventEnvelope);

  const create = async (category: string): Promise<string> =>
    (
      await uow.execute(CommandContext.system(), async () =>
        aProduct().inCategory(category).pricedAt(100).withStock(1).build(),
      )
    ).id;
  const change = (id: string, act: (product: Product) => void): Promise<unknown> =>
    uow.execute(CommandContext.system(), async (em) => {
      const product = await em.findOneOrFail(Product, { id });
      act(product);
      return product;
    });

  it('counts active products per category without regard to case, batched or not, as a rebuild does', async () => {
    const tv = await create('Television');
    const radio = await create('television');
    const lamp = await create('Lamps');
    // Applied one batch at a time as they happen...
    const firstBatch = await events([tv, radio, lamp]);
    await runner.applyInTransaction(firstBatch.map((event) => ({ projection: 'catalog', event })));
    // ...then a move, a discontinuation, a new product created and moved within one batch, and
    // a stock change that must leave the counts alone.
    await change(lamp, (p) => p.update({ category: 'Home & Garden' }));
    await change(radio, (p) => p.discontinue());
    const moved = await create('Garden');
    await change(moved, (p) => p.update({ category: 'home & garden' }));
    await change(tv, (p) => p.restock(3));
    const seen = new Set(firstBatch.map((e) => e.id));
    const secondBatch = (await events([tv, radio, lamp, moved])).filter((e) => !seen.has(e.id));
    expect(await runner.applyInTransaction(secondBatch.map((event) => ({ projection: 'catalog', event })))).toEqual(
      secondBatch.map(() => 'applied'),
    );

    const { rows } = await pool.query('select key, name, product_count from read_catalog_categories order by key');
    expect(rows).toEqual([
      { key: 'garden', name: 'Garden', product_count: 0 },
      { key: 'home & garden', name: 'Home & Garden', product_count: 2 },
      { key: 'lamps', name: 'Lamps', product_count: 0 },
      { key: 'television', name: 'Television', product_count: 1 },
    ]);
    // The oracle applies every event on its own: the same rows, whatever the batches were.
    const report = await compareWithRebuild(env.databaseUrl);
    expect(report.differences).toEqual({});
  });
});
