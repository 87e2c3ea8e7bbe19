// node bench/profile.mjs [get|list|orders|projector] [seconds] [--no-otel] [--no-prof] [--rate=N]
// `orders --rate=N`: orders at a fixed rate (open loop) instead of as fast as possible.
// Starts the api alone (relay on, tracing on and exporting to a dropping sink) in a scratch
// database, seeds products, runs autocannon against one route with the api under the CPU profiler (bench/cpu-profile-hook.mjs, measured phase only), and
// prints the heaviest functions (self time) and packages. Profiles land in bench/profiles/.
// `projector`: orders at a fixed rate (open loop, --rate, default 100/s, as npm run bench's
// pipeline run) with only the projector profiled, until it has applied them; prints its CPU per order.
// BENCH_NODE=<path> runs the api and projector on another Node.js, as in bench/run.mjs.
import { spawn, execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { createServer } from 'node:http';
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { resolve } from 'node:path';
import autocannon from 'autocannon';
import pg from 'pg';
import { openLoop } from './open-loop.mjs';

const ROOT = new URL('../', import.meta.url).pathname;
const [mode = 'get', seconds = '8'] = process.argv.slice(2).filter((a) => !a.startsWith('--'));
const OTEL = !process.argv.includes('--no-otel');
const PROF = !process.argv.includes('--no-prof');
const RATE_GIVEN = process.argv.some((a) => a.startsWith('--rate='));
const RATE = Number(process.argv.find((a) => a.startsWith('--rate='))?.slice(7) ?? 100);
const NODE = process.env.BENCH_NODE ? resolve(process.env.BENCH_NODE) : process.execPath;
// In `projector` mode only the projector is profiled (the api's profiler would take CPU from it).
const PROF_API = PROF && mode !== 'projector';
const WITH_PROJECTOR = mode === 'orders' || mode === 'projector';
const DB = 'emporium_profile';
const DATABASE_URL = `postgresql://postgres@127.0.0.1:5432/${DB}`;
const PORT = 3210;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

const sink = createServer((req, res) => {
  req.resume();
  req.on('end', () => res.writeHead(200).end('{}'));
});
sink.listen(0, '127.0.0.1');
await once(sink, 'listening');

const admin = new pg.Client({ connectionString: 'postgresql://postgres@127.0.0.1:5432/postgres' });
await admin.connect();
await admin.query(`drop database if exists ${DB} with (force)`);
await admin.query(`create database ${DB}`);
// LOG_STATEMENTS=1: every statement of this database in the server log, to count round trips.
if (process.env.LOG_STATEMENTS) await admin.query(`alter database ${DB} set log_statement = 'all'`);
await admin.end();
const env = {
  PATH: process.env.PATH,
  NODE_ENV: 'production',
  DATABASE_URL,
  AMQP_URL: 'amqp://127.0.0.1:5672',
  AMQP_EXCHANGE: 'profile.events',
  AMQP_QUEUE_PREFIX: 'profile',
  JWT_SECRET: randomBytes(32).toString('hex'),
  ADMIN_EMAIL: 'profile-admin@example.com',
  ADMIN_PASSWORD: 'profile-staff-passphrase',
  LOG_LEVEL: 'info',
  DB_POOL_MAX: '16',
  RATE_LIMIT_DEFAULT: '100000000',
  RATE_LIMIT_AUTH_PER_IP: '100000',
  RATE_LIMIT_AUTH_PER_ACCOUNT: '100000',
  OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${sink.address().port}`,
  ...(OTEL ? {} : { OTEL_SDK_DISABLED: 'true' }),
  PORT: String(PORT),
  // API_ENV=NAME=value,NAME=value: settings for an experiment (e.g. RELAY_ENABLED=false).
  ...Object.fromEntries(
    (process.env.API_ENV ?? '')
      .split(',')
      .filter(Boolean)
      .map((kv) => kv.split('=')),
  ),
};
execFileSync(process.execPath, ['dist/apps/migrate/src/main.js', 'up'], { cwd: ROOT, env, stdio: 'ignore' });
// Messages left from an earlier run name events of a dropped database: start with empty queues.
for (const p of ['catalog', 'orders', 'sales']) {
  for (const s of ['', '.dlq', '.retry.1000ms', '.retry.5000ms', '.retry.30000ms']) {
    try {
      execFileSync('rabbitmqctl', ['-q', 'delete_queue', `profile.${p}${s}`], { stdio: 'ignore' });
    } catch {}
  }
}
const profDir = `${ROOT}bench/profiles`;
mkdirSync(profDir, { recursive: true });
const profFile = `${profDir}/${mode}-${OTEL ? 'otel' : 'no-otel'}.cpuprofile`;
const projectorProfFile = profFile.replace('.cpuprofile', '.projector.cpuprofile');
rmSync(profFile, { force: true });
rmSync(projectorProfFile, { force: true });
env.CPU_PROFILE_FILE = profFile;
const extra = (process.env.NODE_EXTRA ?? '').split(' ').filter(Boolean);
const api = spawn(
  NODE,
  [
    ...extra,
    ...(PROF_API ? ['--import', './bench/cpu-profile-hook.mjs'] : []),
    '--import',
    './dist/libs/telemetry/src/otel/preload.js',
    'dist/apps/api/src/main.js',
  ],
  { cwd: ROOT, env, stdio: ['ignore', 'ignore', 'inherit', 'ipc'] },
);
// Orders: the projector runs too (profiled into <file>.projector.cpuprofile), so relayed events are consumed.
const projector = WITH_PROJECTOR
  ? spawn(
      NODE,
      [
        ...extra,
        ...(PROF ? ['--import', './bench/cpu-profile-hook.mjs'] : []),
        '--import',
        './dist/libs/telemetry/src/otel/preload.js',
        'dist/apps/projector/src/main.js',
      ],
      {
        cwd: ROOT,
        env: { ...env, PROJECTOR_PORT: String(PORT + 1), CPU_PROFILE_FILE: projectorProfFile },
        stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
      },
    )
  : undefined;
const base = `http://127.0.0.1:${PORT}`;
for (let i = 0; ; i++) {
  try {
    if ((await fetch(`${base}/health/ready`)).status === 200) break;
  } catch {}
  if (i > 300) throw new Error('api never ready');
  await sleep(100);
}
const call = async (method, path, body, token) => {
  const res = await fetch(`${base}${path}`, {
    method,
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  return { status: res.status, body: await res.json().catch(() => undefined) };
};
if (PROF_API) {
  api.send('memory');
  const [idle] = await once(api, 'message');
  console.log(
    `api idle after start: rss ${Math.round(idle.memory.rss / 2 ** 20)} MB, heap used ${Math.round(idle.memory.heapUsed / 2 ** 20)} MB`,
  );
}
const adminToken = (await call('POST', '/api/v1/auth/login', { email: env.ADMIN_EMAIL, password: env.ADMIN_PASSWORD }))
  .body.accessToken;
const ids = [];
for (let b = 0; b < 10; b++) {
  const created = await Promise.all(
    Array.from({ length: 20 }, (_, i) =>
      call(
        'POST',
        '/api/v1/products',
        {
          sku: `P-${b * 20 + i}`,
          name: `Product ${b * 20 + i}`,
          description: 'profiling',
          category: `c${i % 10}`,
          priceCents: 500 + i * 97,
          currency: 'EUR',
          stock: 1_000_000,
        },
        adminToken,
      ),
    ),
  );
  ids.push(...created.map((c) => c.body.id));
}
await call('POST', '/api/v1/auth/register', {
  email: 'p@example.com',
  password: 'profile-customer-passphrase',
  name: 'P',
});
const token = (
  await call('POST', '/api/v1/auth/login', { email: 'p@example.com', password: 'profile-customer-passphrase' })
).body.accessToken;
// The catalog read model is written by the projector; without one, fill it directly from the write model.
const db = new pg.Client({ connectionString: DATABASE_URL });
await db.connect();
if (mode !== 'projector')
  await db
    .query(
      `insert into read_catalog_products (id, sku, name, description, category, price_cents, currency, stock, status, version, created_at, updated_at)
  select id, sku, name, description, category, price_cents, currency, stock, 'active', stream_version, now(), now() from products on conflict do nothing`,
    )
    .catch((e) => console.error('read model fill:', e.message));
await db.end();
const pick = (l) => l[Math.floor(Math.random() * l.length)];
const order = () => ({
  method: 'POST',
  path: '/api/v1/orders',
  headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
  body: JSON.stringify({ lines: [{ productId: pick(ids), quantity: 1 }] }),
});
const requests = {
  get: [{ setupRequest: (r) => ({ ...r, path: `/api/v1/products/${pick(ids)}` }) }],
  list: [
    {
      setupRequest: (r) => ({
        ...r,
        path: `/api/v1/products?category=c${Math.floor(Math.random() * 10)}&minPriceCents=1000`,
      }),
    },
  ],
  orders: [{ method: 'POST', setupRequest: (r) => ({ ...r, ...order() }) }],
}[mode];
const probe = new pg.Pool({ connectionString: DATABASE_URL, max: 1 });
/** Every event the projections handle is applied (the catalog, orders and sales inboxes hold them all). */
const applied = async () => {
  for (let i = 0; i < 600; i++) {
    const { rows } =
      await probe.query(`select count(*)::int as n from event_log e, unnest(array['catalog', 'orders', 'sales']) p(name)
      where (p.name = 'catalog' and e.type like 'catalog.product.%' or p.name <> 'catalog' and e.type = 'ordering.order.placed')
        and not exists (select 1 from projection_inbox i where i.event_id = e.id and i.projection = p.name)`);
    if (rows[0].n === 0) return;
    await sleep(100);
  }
  throw new Error('projections did not catch up');
};
const placedOrders = async () =>
  (await probe.query(`select count(*)::int as n from event_log where type = 'ordering.order.placed'`)).rows[0].n;
if (mode === 'projector') {
  await openLoop({ url: base, rate: RATE, seconds: 2, next: order }); // warm-up
  await applied();
} else await autocannon({ url: base, requests, connections: 32, duration: 2 }); // warm-up
if (PROF_API) api.send('profile');
if (PROF) projector?.send('profile');
const cpuTicks = (pid = api.pid) => {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return Number(f[11]) + Number(f[12]);
};
const idle = () => readFileSync('/proc/stat', 'utf8').split('\n')[0].split(/\s+/).slice(1).map(Number);
const [ticks0, stat0, t0] = [cpuTicks(), idle(), Date.now()];
const projectorTicks0 = projector ? cpuTicks(projector.pid) : 0;
if (mode === 'projector') {
  const before = await placedOrders();
  const r = await openLoop({ url: base, rate: RATE, seconds: Number(seconds), next: order });
  await applied();
  const placed = (await placedOrders()) - before;
  console.log(
    `projector: ${placed} orders at ${RATE}/s (answered ${r.requestsPerSecond}/s, p50 ${r.p50Ms} ms, p99 ${r.p99Ms} ms), all applied`,
  );
  console.log(
    `projector cpu ${(((cpuTicks(projector.pid) - projectorTicks0) * 10) / placed).toFixed(2)} ms per order (from placing the first to the last applied)`,
  );
} else if (mode === 'orders' && RATE_GIVEN) {
  // Orders at a fixed rate (open loop): the api's CPU per order without the machine saturated,
  // where a profile's samples are the api's own work rather than time it waited for a core.
  const before = await placedOrders();
  const r = await openLoop({ url: base, rate: RATE, seconds: Number(seconds), next: order });
  const placed = (await placedOrders()) - before;
  console.log(
    `orders: ${placed} at ${RATE}/s (answered ${r.requestsPerSecond}/s, p50 ${r.p50Ms} ms, p99 ${r.p99Ms} ms)`,
  );
  console.log(`api cpu ${(((cpuTicks() - ticks0) * 10) / placed).toFixed(2)} ms per order`);
} else {
  const r = await autocannon({
    url: base,
    requests,
    connections: mode === 'orders' ? 16 : 32,
    duration: Number(seconds),
  });
  console.log(
    `${mode}: ${Math.round(r.requests.average)} req/s p50 ${r.latency.p50} p99 ${r.latency.p99} non2xx ${r.non2xx} errors ${r.errors}`,
  );
}
const stat1 = idle();
const busy = (a) => a.reduce((x, y) => x + y, 0) - a[3] - a[4];
if (projector) {
  // How the deliveries were batched, and what each cost in statements (the projector's own counters).
  const text = await (await fetch(`http://127.0.0.1:${PORT + 1}/metrics`)).text();
  const metric = (name) =>
    [...text.matchAll(new RegExp(`^${name}\\{projection="([^"]+)"\\} (\\S+)`, 'gm'))].map((m) => [m[1], Number(m[2])]);
  const events = Object.fromEntries(metric('emporium_projection_batch_size_sum'));
  const transactions = Object.fromEntries(metric('emporium_projection_batch_size_count'));
  for (const [projection, statements] of metric('emporium_projection_statements_total')) {
    console.log(
      `${projection}: ${(statements / events[projection]).toFixed(2)} statements per event, mean batch ${(events[projection] / transactions[projection]).toFixed(1)}`,
    );
  }
}
if (projector)
  console.log(
    `projector cpu ${Math.round(((cpuTicks(projector.pid) - projectorTicks0) / 100 / ((Date.now() - t0) / 1000)) * 100)}% of one core`,
  );
console.log(
  `api cpu ${Math.round(((cpuTicks() - ticks0) / 100 / ((Date.now() - t0) / 1000)) * 100)}% of one core; machine busy ${Math.round(((busy(stat1) - busy(stat0)) / (stat1.reduce((x, y) => x + y, 0) - stat0.reduce((x, y) => x + y, 0))) * 100)}%`,
);
const rss =
  Number(
    execFileSync('ps', ['-o', 'rss=', '-p', String(api.pid)])
      .toString()
      .trim(),
  ) / 1024;
console.log(`api rss ${Math.round(rss)} MB`);
if (PROF_API) {
  api.send('memory');
  const [reply] = await once(api, 'message');
  const mb = (n) => `${Math.round(n / 2 ** 20)}`;
  if (process.argv.includes('--heap')) {
    api.send('heap');
    await once(api, 'message');
  }
  console.log(
    `api memory MB: ${Object.entries(reply.memory)
      .map(([k, v]) => `${k} ${mb(v)}`)
      .join(', ')}; heap spaces ${reply.spaces.map(([n, v]) => `${n.replace('_space', '')} ${v}`).join(', ')}`,
  );
}
if (PROF) {
  if (PROF_API) api.send('profile');
  projector?.send('profile');
  for (let i = 0; i < 100 && !existsSync(PROF_API ? profFile : projectorProfFile); i++) await sleep(100);
  await sleep(300);
}
api.kill('SIGTERM');
await once(api, 'exit');
if (projector) {
  projector.kill('SIGTERM');
  await once(projector, 'exit');
}
sink.close();
await probe.end();
/** `busy`: shares of the samples the thread was not idle in (what a per-order CPU figure splits into). */
function summarise(file, { busy = false } = {}) {
  const profile = JSON.parse(readFileSync(file, 'utf8'));
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const self = new Map();
  const dt = profile.timeDeltas;
  for (let i = 0; i < profile.samples.length; i++) {
    const n = byId.get(profile.samples[i]);
    self.set(n.id, (self.get(n.id) ?? 0) + (dt[i] ?? 0));
  }
  const idle = [...self]
    .filter(([id]) => byId.get(id).callFrame.functionName === '(idle)')
    .reduce((a, [, t]) => a + t, 0);
  if (busy) for (const [id] of self) if (byId.get(id).callFrame.functionName === '(idle)') self.delete(id);
  const total = [...self.values()].reduce((a, b) => a + b, 0);
  const fn = new Map();
  const pkg = new Map();
  for (const [id, t] of self) {
    const cf = byId.get(id).callFrame;
    const url = cf.url.replace(`file://${ROOT}`, '');
    const key = `${cf.functionName || '(anon)'} ${url.split('/').slice(-2).join('/')}:${cf.lineNumber}`;
    fn.set(key, (fn.get(key) ?? 0) + t);
    const m = /node_modules\/((@[^/]+\/)?[^/]+)/.exec(url);
    const p = m
      ? m[1]
      : url.startsWith('node:')
        ? 'node:' + url.slice(5).split('/')[0]
        : url.startsWith('dist/')
          ? 'emporium'
          : cf.functionName.startsWith('(')
            ? cf.functionName
            : 'other';
    pkg.set(p, (pkg.get(p) ?? 0) + t);
  }
  const show = (m, n) =>
    [...m]
      .sort((a, b) => b[1] - a[1])
      .slice(0, n)
      .map(([k, t]) => `${((t / total) * 100).toFixed(1).padStart(5)}%  ${k}`)
      .join('\n');
  const header = busy ? ` (shares of busy samples; idle was ${((idle / (total + idle)) * 100).toFixed(0)} %)` : '';
  console.log(
    `\n== ${file.replace(ROOT, '')}${header}\n-- packages (self) --\n${show(pkg, 25)}\n\n-- functions (self) --\n${show(fn, 45)}`,
  );
}
if (PROF) {
  if (PROF_API) summarise(profFile);
  if (projector) summarise(projectorProfFile, { busy: mode === 'projector' });
}
process.exit(0);
