// The reference for placing an order: bare Fastify + pg running the api's transaction, statement for
// statement in meaning, on the same tables, answering with the same JSON and headers. What the api
// adds on top (Nest, guards, validation, MikroORM's unit of work, tracing) is the difference.
//
//   BEGIN
//   select … from products where id in (…) order by id for update   -- the lines' products, locked in id order
//   insert into orders (…)                                             -- status placed, lines as a jsonb snapshot
//   update products set stock, updated_at, stream_version             -- where the stream version is still the one read
//   insert into event_log (…) values (…), (…) returning position       -- ordering.order.placed, then one
//                                                                        -- catalog.product.stock-reserved per product
//   COMMIT
//
// The api's MikroORM sends these as literal SQL (simple protocol); here they are named (prepared)
// statements. An order of several products updates them in one statement (the api: a version-check
// select, then one update). The bearer token is not verified: its `sub` is the customer, as the
// api's would be. The events carry a traceparent as the api's do with tracing on (their size matters).
import { Buffer } from 'node:buffer';
import { randomBytes, randomUUID } from 'node:crypto';
import Fastify from 'fastify';
import pg from 'pg';

// Sized like the api's pool (DB_POOL_MAX, default 10 as in the api's configuration).
const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL, max: Number(process.env.DB_POOL_MAX ?? 10) });
const app = Fastify({ logger: false });

const MAX_ORDER_LINES = 50;
const MAX_LINE_QUANTITY = 1000;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const CORRELATION_ID = /^[A-Za-z0-9._:-]{1,64}$/;
const TRACEPARENT = /^[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$/;
const TITLES = { 400: 'Bad Request', 401: 'Unauthorized', 409: 'Conflict', 422: 'Unprocessable Entity' };

class Problem extends Error {
  constructor(status, code, detail, extensions = {}) {
    super(detail);
    Object.assign(this, { status, code, extensions });
  }
}
const describe = (p) => `${p.name} (SKU ${p.sku}, id ${p.productId})`;

const LOCK_PRODUCTS = {
  name: 'lock-products',
  text: `select id, sku, name, description, category, price_cents, currency, stock, status, created_at, updated_at, stream_version
           from products where id = any($1::uuid[]) order by id for update`,
};
const INSERT_ORDER = {
  name: 'insert-order',
  text: `insert into orders (id, customer_id, status, lines, total_cents, currency, placed_at, updated_at, stream_version)
         values ($1, $2, 'placed', $3, $4, $5, $6, $6, 1)`,
};
const RESERVE_ONE = {
  name: 'reserve-stock',
  text: 'update products set stock = $1, updated_at = $2, stream_version = $3 where id = $4 and stream_version = $5',
};
const RESERVE_MANY = {
  name: 'reserve-stock-many',
  text: `update products p set stock = v.stock, updated_at = $1, stream_version = v.version
           from unnest($2::uuid[], $3::int[], $4::int[]) v(id, stock, version)
          where p.id = v.id and p.stream_version = v.version - 1`,
};
const EVENT_COLUMNS = 9;
const insertEvents = new Map();
/** `insert into event_log … returning position` for `rows` events, one named statement per row count. */
function insertEventsStatement(rows) {
  let statement = insertEvents.get(rows);
  if (!statement) {
    const values = Array.from(
      { length: rows },
      (_, r) => `(${Array.from({ length: EVENT_COLUMNS }, (_, c) => `$${r * EVENT_COLUMNS + c + 1}`).join(', ')})`,
    ).join(', ');
    statement = {
      name: `insert-events-${rows}`,
      text: `insert into event_log (id, type, schema_version, aggregate_type, aggregate_id, aggregate_version, occurred_at, payload, metadata)
             values ${values} returning position`,
    };
    insertEvents.set(rows, statement);
  }
  return statement;
}

/** The customer: the bearer token's `sub` (not verified; the reference measures the write path). */
function customerOf(request) {
  const [scheme, token] = (request.headers.authorization ?? '').split(' ');
  if (scheme !== 'Bearer' || !token) throw new Problem(401, 'unauthorized', 'missing bearer token');
  try {
    const sub = JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString()).sub;
    if (typeof sub === 'string' && UUID.test(sub)) return sub;
  } catch {}
  throw new Problem(401, 'unauthorized', 'the bearer token names no customer');
}

/** One line per product (quantities of a product named twice added up), in product id order. */
function requestedQuantities(body) {
  const lines = body?.lines;
  if (!Array.isArray(lines) || lines.length < 1 || lines.length > MAX_ORDER_LINES) {
    throw new Problem(400, 'invalid-order', `an order has 1 to ${MAX_ORDER_LINES} lines`);
  }
  const quantities = new Map();
  for (const line of lines) {
    if (typeof line?.productId !== 'string' || !UUID.test(line.productId)) {
      throw new Problem(400, 'invalid-order', 'each line needs a productId (a UUID)');
    }
    quantities.set(line.productId, (quantities.get(line.productId) ?? 0) + line.quantity);
  }
  for (const [productId, quantity] of quantities) {
    if (!Number.isSafeInteger(quantity) || quantity < 1 || quantity > MAX_LINE_QUANTITY) {
      throw new Problem(
        400,
        'invalid-order',
        `product ${productId}: quantity must be an integer from 1 to ${MAX_LINE_QUANTITY}`,
      );
    }
  }
  return [...quantities]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([productId, quantity]) => ({ productId, quantity }));
}

async function placeOrder(request) {
  const customerId = customerOf(request);
  const requested = requestedQuantities(request.body);
  const correlation = request.headers['x-correlation-id'];
  const traceparent = request.headers.traceparent;
  const metadata = JSON.stringify({
    actor: customerId,
    correlationId: typeof correlation === 'string' && CORRELATION_ID.test(correlation) ? correlation : randomUUID(),
    causationId: randomUUID(),
    traceparent:
      typeof traceparent === 'string' && TRACEPARENT.test(traceparent)
        ? traceparent
        : `00-${randomBytes(16).toString('hex')}-${randomBytes(8).toString('hex')}-01`,
  });
  const client = await pool.connect();
  try {
    await client.query('begin');
    const { rows: products } = await client.query({ ...LOCK_PRODUCTS, values: [requested.map((r) => r.productId)] });
    const byId = new Map(products.map((p) => [p.id, p]));
    const reference = (p) => ({ productId: p.id, sku: p.sku, name: p.name });
    const unknownProducts = requested.filter((r) => !byId.has(r.productId)).map((r) => r.productId);
    const discontinuedProducts = requested
      .map((r) => byId.get(r.productId))
      .filter((p) => p !== undefined && p.status !== 'active')
      .map(reference);
    if (unknownProducts.length || discontinuedProducts.length) {
      const detail = [
        unknownProducts.length ? `unknown products: ${unknownProducts.join(', ')}` : '',
        discontinuedProducts.length ? `discontinued products: ${discontinuedProducts.map(describe).join(', ')}` : '',
      ]
        .filter(Boolean)
        .join('; ');
      throw new Problem(422, 'products-unavailable', detail, { unknownProducts, discontinuedProducts });
    }
    const items = requested.map((r) => ({ product: byId.get(r.productId), quantity: r.quantity }));
    const currencies = [...new Set(items.map((i) => i.product.currency))];
    if (currencies.length > 1) {
      throw new Problem(
        422,
        'mixed-currencies',
        `an order is paid in one currency; its products are priced in ${currencies.join(', ')}`,
      );
    }
    const shortages = items
      .filter(({ product, quantity }) => quantity > product.stock)
      .map(({ product, quantity }) => ({ ...reference(product), requested: quantity, available: product.stock }));
    if (shortages.length) {
      throw new Problem(
        409,
        'out-of-stock',
        `not enough stock: ${shortages.map((s) => `${describe(s)}: ${s.requested} requested, ${s.available} available`).join('; ')}`,
        { products: shortages },
      );
    }
    const orderId = randomUUID();
    const now = new Date().toISOString();
    const lines = items.map(({ product, quantity }) => ({
      productId: product.id,
      name: product.name,
      category: product.category,
      quantity,
      unitPriceCents: product.price_cents,
    }));
    const totalCents = lines.reduce((sum, l) => sum + l.unitPriceCents * l.quantity, 0);
    const currency = currencies[0];
    await client.query({
      ...INSERT_ORDER,
      values: [orderId, customerId, JSON.stringify(lines), totalCents, currency, now],
    });
    const reserved = items.map(({ product, quantity }) => ({
      id: product.id,
      quantity,
      stock: product.stock - quantity,
      version: product.stream_version + 1,
    }));
    const updated =
      reserved.length === 1
        ? await client.query({
            ...RESERVE_ONE,
            values: [reserved[0].stock, now, reserved[0].version, reserved[0].id, reserved[0].version - 1],
          })
        : await client.query({
            ...RESERVE_MANY,
            values: [now, reserved.map((r) => r.id), reserved.map((r) => r.stock), reserved.map((r) => r.version)],
          });
    // The rows are locked, so this never fails; the api would retry the command.
    if (updated.rowCount !== reserved.length) {
      throw new Problem(
        409,
        'concurrent-modification',
        'the resource is being changed by other requests right now; retry shortly',
      );
    }
    const events = [
      [
        randomUUID(),
        'ordering.order.placed',
        1,
        'Order',
        orderId,
        1,
        now,
        JSON.stringify({ customerId, lines, totalCents, currency }),
        metadata,
      ],
      ...reserved.map((r) => [
        randomUUID(),
        'catalog.product.stock-reserved',
        1,
        'Product',
        r.id,
        r.version,
        now,
        JSON.stringify({ orderId, quantity: r.quantity, stock: r.stock }),
        metadata,
      ]),
    ];
    const { rows: positions } = await client.query({ ...insertEventsStatement(events.length), values: events.flat() });
    await client.query('commit');
    const position = positions.reduce((max, r) => (BigInt(r.position) > max ? BigInt(r.position) : max), 0n).toString();
    return { id: orderId, version: 1, position };
  } catch (error) {
    await client.query('rollback').catch(() => {});
    throw error;
  } finally {
    client.release();
  }
}

app.post('/orders', async (request, reply) => {
  try {
    const result = await placeOrder(request);
    return reply
      .code(201)
      .header('x-min-position', result.position)
      .header('location', `/api/v1/orders/${encodeURIComponent(result.id)}`)
      .send(result);
  } catch (error) {
    if (!(error instanceof Problem)) throw error;
    return reply
      .code(error.status)
      .header('content-type', 'application/problem+json')
      .send({
        type: `/problems/${error.code}`,
        title: TITLES[error.status],
        status: error.status,
        detail: error.message,
        code: error.code,
        ...error.extensions,
        instance: request.url.split('?')[0],
      });
  }
});
app.get('/health/ready', async () => ({ status: 'ok' }));
await app.listen({ port: Number(process.env.PORT), host: '127.0.0.1' });
const stop = async () => {
  await app.close();
  await pool.end();
  process.exit(0);
};
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
