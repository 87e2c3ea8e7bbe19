// npm run bench:pgbench [-- --seconds=10] [--no-projection] [--no-write]
// The database's own ceiling for the write path, with no Node.js in it: pgbench runs the order
// transaction the api runs (bench/pgbench/order.sql: lock the product, insert the order, reserve
// the stock, append both events) and, unless --no-projection, the projector's apply of one order
// (bench/pgbench/projection.sql), each for --seconds with 8 clients on 2 threads, in a scratch
// database migrated like the api's and dropped at the end. synchronous_commit is the server's.
// Prints a summary on stderr and the figures as JSON on stdout; writes them to
// bench/results/pgbench-<time>.json unless --no-write (bench/run.mjs records them in its own).
// BENCH_PG=postgresql://user@host:port for another server, as in bench/run.mjs.
import { execFile, execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { promisify } from 'node:util';
import pg from 'pg';

const ROOT = new URL('../', import.meta.url).pathname;
const PG = process.env.BENCH_PG ?? 'postgresql://postgres@127.0.0.1:5432';
// Its own name: two runs (or a run beside bench/run.mjs) never share a database.
const DB = `emporium_pgbench_${process.pid}`;
const DATABASE_URL = `${PG}/${DB}`;
const SECONDS = Number(process.argv.find((a) => a.startsWith('--seconds='))?.slice(10) ?? 10);
const CLIENTS = 8;
const THREADS = 2;
const PRODUCTS = 50;
// 10..59: two digits each, so order.sql writes a product's id as one literal.
const productId = (n) => `00000000-0000-4000-8000-0000000000${10 + n}`;
const STOCK = 1_000_000_000; // the domain's MAX_STOCK: no run comes near it
const log = (line) => process.stderr.write(`${line}\n`);

/** Busy CPU ticks of the whole machine so far (/proc/stat: all but idle and iowait). */
function machineTicks() {
  const f = readFileSync('/proc/stat', 'utf8').split('\n')[0].split(/\s+/).slice(1).map(Number);
  const total = f.reduce((a, b) => a + b, 0);
  return { busy: total - f[3] - f[4], total };
}

/** One pgbench run of `script`; tps as pgbench reports it (without the initial connection time). */
async function pgbench(script, mode) {
  const before = machineTicks();
  const args = [
    '-n',
    '-c',
    String(CLIENTS),
    '-j',
    String(THREADS),
    '-T',
    String(SECONDS),
    '-M',
    mode,
    '-f',
    `${ROOT}bench/pgbench/${script}`,
    DATABASE_URL,
  ];
  let stdout;
  try {
    ({ stdout } = await promisify(execFile)('pgbench', args, { maxBuffer: 16 * 2 ** 20 }));
  } catch (error) {
    throw new Error(`pgbench ${script} failed: ${error.stderr || error.message}`, { cause: error });
  }
  const after = machineTicks();
  const number = (re) => {
    const m = re.exec(stdout);
    return m ? Number(m[1]) : null;
  };
  return {
    script: `bench/pgbench/${script}`,
    protocol: mode,
    tps: Math.round(number(/^tps = ([\d.]+) \(without initial connection time\)/m)),
    latencyAverageMs: number(/^latency average = ([\d.]+) ms/m),
    transactions: number(/^number of transactions actually processed: (\d+)/m),
    failed: number(/^number of failed transactions: (\d+)/m) ?? 0,
    // The whole machine's CPU while it ran (100 = every core): whatever else ran is in it too.
    machineBusyPercent: Math.round(((after.busy - before.busy) / (after.total - before.total)) * 100),
  };
}

const admin = new pg.Client({ connectionString: `${PG}/postgres` });
await admin.connect();
await admin.query(`create database ${DB}`);
const db = new pg.Client({ connectionString: DATABASE_URL });
let result;
try {
  execFileSync(process.execPath, ['dist/apps/migrate/src/main.js', 'up'], {
    cwd: ROOT,
    env: { PATH: process.env.PATH, DATABASE_URL },
    stdio: 'ignore',
  });
  await db.connect();
  const settings = (
    await db.query(`select current_setting('synchronous_commit') as sc, current_setting('server_version') as v`)
  ).rows[0];
  // The write model and the catalog's read model: 50 products with stock no run exhausts.
  await db.query(
    `insert into products (id, sku, name, description, category, price_cents, currency, stock, status, created_at, updated_at, stream_version)
     select p.id::uuid, 'PGBENCH-' || n, 'Bench product ' || n, 'A product for measuring, number ' || n, 'c' || (n % 10),
            500 + (n * 37) % 20000, 'EUR', $3, 'active', now(), now(), 1
       from generate_series(0, $1 - 1) n, lateral (select $2 || lpad((10 + n)::text, 2, '0') as id) p`,
    [PRODUCTS, productId(0).slice(0, -2), STOCK],
  );
  await db.query(`insert into read_catalog_products (id, sku, name, description, category, price_cents, currency, stock, status, version, created_at, updated_at)
    select id, sku, name, description, category, price_cents, currency, stock, status, stream_version, created_at, updated_at from products`);
  await db.query('vacuum analyze');
  log(
    `pgbench ${SECONDS} s, ${CLIENTS} clients on ${THREADS} threads, PostgreSQL ${settings.v}, synchronous_commit ${settings.sc}`,
  );
  const orders = await pgbench('order.sql', 'simple');
  const placed = Number((await db.query(`select count(*) from orders`)).rows[0].count);
  if (placed !== orders.transactions)
    throw new Error(`pgbench reported ${orders.transactions} orders, the database holds ${placed}`);
  orders.statementsPerTransaction = 6; // begin, select for update, insert order, update product, insert events, commit
  log(
    `order transaction: ${orders.tps} tps (latency ${orders.latencyAverageMs} ms, ${orders.transactions} orders, machine busy ${orders.machineBusyPercent} %)`,
  );

  let projection;
  if (!process.argv.includes('--no-projection')) {
    // One row of parameters per order to apply, for events written as the api writes them; twice
    // as many as the order transaction managed (projection.sql stops with an error if it runs out).
    const count = Math.max(20_000, orders.tps * SECONDS * 2);
    await db.query(`create sequence bench_projection_cursor`);
    await db.query(
      `create table bench_projection_queue as
       select n, gen_random_uuid() as order_id, gen_random_uuid() as placed_id, gen_random_uuid() as reserved_id,
              gen_random_uuid() as customer_id, p.id as product_id, p.name, p.category, p.price_cents, p.currency,
              -- above the versions the order transaction reached: (aggregate, version) is unique in event_log
              (1000000 + row_number() over (partition by p.id order by n))::int as product_version
         from generate_series(1, $1) n join products p on p.id = ($2 || lpad((10 + n % $3)::text, 2, '0'))::uuid`,
      [count, productId(0).slice(0, -2), PRODUCTS],
    );
    const metadata = `jsonb_build_object('actor', customer_id, 'correlationId', gen_random_uuid(), 'causationId', gen_random_uuid(),
      'traceparent', '00-' || replace(gen_random_uuid()::text, '-', '') || '-' || left(replace(gen_random_uuid()::text, '-', ''), 16) || '-01')`;
    await db.query(`insert into event_log (id, type, schema_version, aggregate_type, aggregate_id, aggregate_version, occurred_at, payload, metadata, published_at)
      select placed_id, 'ordering.order.placed', 1, 'Order', order_id, 1, now(),
             jsonb_build_object('customerId', customer_id, 'lines', jsonb_build_array(jsonb_build_object('productId', product_id, 'name', name,
               'category', category, 'quantity', 1, 'unitPriceCents', price_cents)), 'totalCents', price_cents, 'currency', currency),
             ${metadata}, now()
        from bench_projection_queue
      union all
      select reserved_id, 'catalog.product.stock-reserved', 1, 'Product', product_id, product_version, now(),
             jsonb_build_object('orderId', order_id, 'quantity', 1, 'stock', ${STOCK} - product_version), ${metadata}, now()
        from bench_projection_queue`);
    // What the projector's statements carry for that order (see the log of a real run).
    await db.query(`create table bench_projection_apply as
      select q.n, '{catalog,orders,sales}' as names, '{catalog,orders,sales}' as stream_projections,
             format('{%s,%s,%s}', q.product_id, q.order_id, q.order_id) as stream_aggregates,
             format('{%s,%s}', q.placed_id, q.reserved_id) as event_ids,
             format('{%s,1,1}', q.product_version) as versions,
             format('{%s,%s,%s}', q.reserved_id, q.placed_id, q.placed_id) as inbox_events,
             format('{%s,%s,%s}', r.position, p.position, p.position) as inbox_positions,
             jsonb_build_array(jsonb_build_object('id', q.product_id, 'stock', ${STOCK} - q.product_version, 'version', q.product_version,
               'updated_at', r.occurred_at))::text as catalog,
             format('{%s}', q.product_id) as notify,
             jsonb_build_array(jsonb_build_object('id', q.order_id, 'lines', p.payload->'lines', 'status', 'placed', 'version', 1,
               'currency', q.currency, 'timeline', jsonb_build_array(jsonb_build_object('at', p.occurred_at, 'status', 'placed')),
               'placed_at', p.occurred_at, 'updated_at', p.occurred_at, 'customer_id', q.customer_id, 'total_cents', q.price_cents))::text as orders,
             jsonb_build_array(jsonb_build_object('day', p.occurred_at::date, 'units', 1, 'category', q.category, 'currency', q.currency,
               'product_id', q.product_id, 'revenue_cents', q.price_cents))::text as sales
        from bench_projection_queue q join event_log p on p.id = q.placed_id join event_log r on r.id = q.reserved_id`);
    await db.query(`create unique index on bench_projection_apply (n)`);
    await db.query('vacuum analyze');
    projection = await pgbench('projection.sql', 'extended');
    // begin, lock streams and load the events, advance streams and record the inbox, the three
    // read models' statements, NOTIFY, commit; the claim of the row is not counted.
    projection.statementsPerTransaction = 8;
    projection.deliveriesPerTransaction = 3;
    log(
      `projection apply (3 deliveries of one order): ${projection.tps} tps (latency ${projection.latencyAverageMs} ms, machine busy ${projection.machineBusyPercent} %)`,
    );
  }
  result = {
    postgres: { server: PG.replace(/:[^:@/]*@/, '@'), version: settings.v, synchronousCommit: settings.sc },
    clients: CLIENTS,
    threads: THREADS,
    seconds: SECONDS,
    products: PRODUCTS,
    orders,
    ...(projection ? { projection } : {}),
  };
} finally {
  await db.end().catch(() => {});
  await admin.query(`drop database if exists ${DB} with (force)`);
  await admin.end();
}
if (!process.argv.includes('--no-write')) {
  const file = `${ROOT}bench/results/pgbench-${new Date().toISOString().replace(/[:.]/g, '-')}.json`;
  writeFileSync(file, `${JSON.stringify(result, null, 2)}\n`);
  log(`written to ${file.replace(ROOT, '')}`);
}
process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
