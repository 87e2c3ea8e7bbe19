/** @requires-services PostgreSQL (see jest.config.js) */
import { MikroORM } from '@mikro-orm/postgresql';
import pg from 'pg';
import { AppConfig } from '@emporium/config';
import { Product } from '@emporium/catalog';
import { createOrmOptions } from '@emporium/database';
import { CommandContext, UnitOfWork } from '@emporium/domain';
import {
  ExpireOrderHandler,
  InvalidOrderState,
  OrderExpiry,
  PAYMENT_TIMEOUT,
  PayOrder,
  PayOrderHandler,
} from '@emporium/ordering';
import {
  allEntities,
  anOrder,
  aProduct,
  isolatedEnvironment,
  requireServices,
  type IsolatedEnvironment,
} from '@emporium/testing';

const TIMEOUT_MS = 60_000;

describe('Unpaid orders expire (real PostgreSQL)', () => {
  let env: IsolatedEnvironment;
  let config: AppConfig;
  let orm: MikroORM;
  let uow: UnitOfWork;
  let pool: pg.Pool;
  const sweepers: OrderExpiry[] = [];
  let pay: PayOrderHandler;

  const customer = { id: crypto.randomUUID(), roles: ['customer'] };
  const asCustomer = (): CommandContext => new CommandContext(customer);

  const createProduct = async (stock: number): Promise<string> =>
    (await uow.execute(CommandContext.system(), async () => aProduct().pricedAt(500).withStock(stock).build())).id;

  /** An order placed `ageMs` ago, holding `quantity` units of the product. */
  const placeOrder = async (productId: string, quantity: number, ageMs: number): Promise<string> => {
    const { id } = await uow.execute(asCustomer(), async (em) => {
      const product = await em.findOneOrFail(Product, { id: productId });
      const order = anOrder().forCustomer(customer.id).withLine(product, quantity).build();
      product.reserve(order.id, quantity);
      return order;
    });
    await pool.query(
      `update orders set placed_at = now() - make_interval(secs => $2::double precision / 1000) where id = $1`,
      [id, ageMs],
    );
    return id;
  };

  const stockOf = async (productId: string): Promise<number> =>
    (await pool.query<{ stock: number }>('select stock from products where id = $1', [productId])).rows[0].stock;
  const statusOf = async (orderId: string): Promise<string> =>
    (await pool.query<{ status: string }>('select status from orders where id = $1', [orderId])).rows[0].status;
  const eventsOf = async (orderId: string) =>
    (
      await pool.query<{ type: string; version: number; reason: string | null; actor: string }>(
        `select type, aggregate_version as version, payload->>'reason' as reason, metadata->>'actor' as actor
           from event_log where aggregate_id = $1 order by aggregate_version`,
        [orderId],
      )
    ).rows;

  beforeAll(async () => {
    await requireServices();
    env = await isolatedEnvironment('order_expiry', allEntities);
    config = AppConfig.fromEnvironment({ ...env.env, ORDER_PAYMENT_TIMEOUT: `${TIMEOUT_MS}ms` });
    orm = await MikroORM.init(createOrmOptions(config, allEntities));
    uow = new UnitOfWork(orm, config);
    pool = new pg.Pool({ connectionString: env.databaseUrl, max: 4 });
    pay = new PayOrderHandler(uow);
    // Two sweepers on one database, as two projector replicas run them.
    for (let i = 0; i < 2; i++) sweepers.push(new OrderExpiry(orm, config, new ExpireOrderHandler(uow)));
  });

  afterAll(async () => {
    await pool?.end();
    await orm?.close();
    await env?.dispose();
  });

  it('cancels an overdue unpaid order with reason payment-timeout and returns its stock; a paid or recent one stays', async () => {
    const product = await createProduct(10);
    const overdue = await placeOrder(product, 3, TIMEOUT_MS + 1_000);
    const recent = await placeOrder(product, 2, TIMEOUT_MS - 10_000);
    const paid = await placeOrder(product, 1, TIMEOUT_MS + 1_000);
    await pay.execute(new PayOrder(asCustomer(), paid));
    expect(await stockOf(product)).toBe(4);

    expect(await sweepers[0].sweep()).toBe(1);

    expect(await statusOf(overdue)).toBe('cancelled');
    expect(await eventsOf(overdue)).toEqual([
      expect.objectContaining({ type: 'ordering.order.placed', version: 1 }),
      { type: 'ordering.order.cancelled', version: 2, reason: PAYMENT_TIMEOUT, actor: 'system' },
    ]);
    expect(await stockOf(product)).toBe(7);
    expect(await statusOf(recent)).toBe('placed');
    expect(await statusOf(paid)).toBe('paid');
    // Nothing left to do: a second sweep changes nothing.
    expect(await sweepers[1].sweep()).toBe(0);
    expect(await eventsOf(overdue)).toHaveLength(2);
  });

  it('two sweepers at once expire each overdue order exactly once', async () => {
    const product = await createProduct(200);
    const orders: string[] = [];
    for (let i = 0; i < 40; i++) orders.push(await placeOrder(product, 2, TIMEOUT_MS + 5_000));

    const counts = await Promise.all(sweepers.map((s) => s.sweep()));

    expect(counts[0] + counts[1]).toBe(40);
    const cancels = await pool.query<{ n: string }>(
      `select count(*) as n from event_log where type = 'ordering.order.cancelled' and aggregate_id = any($1::uuid[])`,
      [orders],
    );
    expect(Number(cancels.rows[0].n)).toBe(40);
    expect(await stockOf(product)).toBe(200);
  });

  it('a payment racing the expiry: exactly one of the two happens', async () => {
    const product = await createProduct(100);
    const orders: string[] = [];
    for (let i = 0; i < 20; i++) orders.push(await placeOrder(product, 1, TIMEOUT_MS + 1_000));

    const payments = orders.map((id) =>
      pay.execute(new PayOrder(asCustomer(), id)).then(
        () => 'paid' as const,
        (error: unknown) => {
          if (error instanceof InvalidOrderState) return 'refused' as const;
          throw error;
        },
      ),
    );
    const [outcomes] = await Promise.all([Promise.all(payments), sweepers[0].sweep(), sweepers[1].sweep()]);

    for (const [i, id] of orders.entries()) {
      const events = (await eventsOf(id)).map((e) => e.type);
      const status = await statusOf(id);
      if (outcomes[i] === 'paid') {
        expect({ status, events }).toEqual({
          status: 'paid',
          events: ['ordering.order.placed', 'ordering.order.paid'],
        });
      } else {
        expect({ status, events }).toEqual({
          status: 'cancelled',
          events: ['ordering.order.placed', 'ordering.order.cancelled'],
        });
      }
    }
    const paidCount = outcomes.filter((o) => o === 'paid').length;
    expect(await stockOf(product)).toBe(100 - paidCount);
  });
});
