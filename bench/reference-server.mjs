// The reference for "one HTTP hop plus one query": bare Fastify + pg, same table, same JSON.
import Fastify from 'fastify';
import pg from 'pg';

const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL, max: 10 });
const app = Fastify({ logger: false });
app.get('/products/:id', async (request, reply) => {
  const { rows } = await pool.query({
    name: 'product-by-id',
    text: `select id, sku, name, description, category, price_cents, currency, stock, status, version, updated_at
             from read_catalog_products where id = $1`,
    values: [request.params.id],
  });
  if (!rows[0]) return reply.code(404).send({ status: 404 });
  const r = rows[0];
  return {
    id: r.id, sku: r.sku, name: r.name, description: r.description, category: r.category,
    priceCents: r.price_cents, currency: r.currency, stock: r.stock, inStock: r.stock > 0,
    status: r.status, version: r.version, updatedAt: r.updated_at.toISOString(),
  };
});
await app.listen({ port: Number(process.env.PORT), host: '127.0.0.1' });
const stop = async () => { await app.close(); await pool.end(); process.exit(0); };
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
