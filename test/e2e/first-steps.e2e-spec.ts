import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  freePort,
  httpClient,
  poll,
  runToExit,
  startAllInOne,
  TEST_SETTINGS,
  type RunningSystemProcess,
} from '@emporium/testing';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/**
 * What a newcomer does in the first minutes after `npm start`: follows the printed links, calls
 * the API with curl, makes mistakes, reads their own writes, and runs the CLI; each answer must
 * say what to do next.
 */
describe('first steps on the embedded system', () => {
  let dataDir: string;
  let system: RunningSystemProcess | undefined;
  let port: number;
  let projectorPort: number;
  let env: Record<string, string>;
  /** The product list as seen the moment /health/ready first answered 200. */
  let catalogWhenReady: number | undefined;
  let http: ReturnType<typeof httpClient>;
  let adminToken: string;

  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'emporium-first-steps-'));
    [port, projectorPort] = [await freePort(), await freePort()];
    env = {
      ...TEST_SETTINGS,
      DATA_DIR: dataDir,
      DEMO_DATA: 'true',
      HOST: '127.0.0.1',
      PORT: String(port),
      PROJECTOR_PORT: String(projectorPort),
    };
    const api = `http://127.0.0.1:${port}`;
    const starting = startAllInOne(env);
    // Watch readiness from the outside, as an orchestrator or a script would, and look at the
    // shop the moment it says ready.
    const watcher = poll(
      () => fetch(`${api}/health/ready`).then((r) => r.status),
      (status) => status === 200,
      { timeoutMs: 180_000, intervalMs: 10, what: 'readiness' },
    ).then(async () => {
      const page = (await (await fetch(`${api}/api/v1/products?limit=100`)).json()) as { items: unknown[] };
      catalogWhenReady = page.items.length;
    });
    system = await starting;
    await watcher;
    http = httpClient(system.banner.apiUrl);
    const demo = system.banner.demo!;
    adminToken = (await http('POST', '/api/v1/auth/login', { body: demo.admin })).body.accessToken as string;
  }, 240_000);

  afterAll(async () => {
    await system?.stop();
    await rm(dataDir, { recursive: true, force: true });
  });

  it('is ready only once the demo catalog is visible', () => {
    expect(catalogWhenReady).toBe(12);
  });

  it('prints links that work, and serves metrics on one port only', async () => {
    const output = system!.output();
    const links = [...output.matchAll(/^ {2}(?:API|OpenAPI UI|health|metrics) +(.*)$/gm)].flatMap((line) =>
      [...line[1].matchAll(/https?:\/\/[^\s,)]+/g)].map((m) => m[0]),
    );
    expect(links.length).toBeGreaterThanOrEqual(5);
    for (const link of links) expect([link, (await fetch(link)).status]).toEqual([link, 200]);
    expect(output).not.toMatch(/\/api\/v1\/(health|metrics)/);
    const projectorMetrics = await fetch(`http://127.0.0.1:${projectorPort}/metrics`);
    expect(projectorMetrics.status).toBe(404);
    expect(await projectorMetrics.text()).toContain(`http://127.0.0.1:${port}/metrics`);
  });

  it('answers a create with Location and X-Min-Position, and a too-early read says to send it', async () => {
    const body = { sku: 'FIRST-1', name: 'First', category: 'kitchen', priceCents: 100, currency: 'EUR', stock: 1 };
    const headers = { 'idempotency-key': 'first-steps-create' };
    const created = await http('POST', '/api/v1/products', { token: adminToken, body, headers });
    expect(created.status).toBe(201);
    expect(created.headers.get('location')).toBe(`/api/v1/products/${created.body.id}`);
    expect(created.headers.get('x-min-position')).toBe(created.body.position);
    const replayed = await http('POST', '/api/v1/products', { token: adminToken, body, headers });
    expect(replayed.headers.get('idempotent-replayed')).toBe('true');
    expect(replayed.headers.get('location')).toBe(created.headers.get('location'));
    expect(replayed.headers.get('x-min-position')).toBe(created.body.position);

    const read = await http('GET', created.headers.get('location')!, {
      headers: { 'x-min-position': created.headers.get('x-min-position')! },
    });
    expect(read.status).toBe(200);
    expect(read.body).toMatchObject({ sku: 'FIRST-1' });

    const missing = await http('GET', `/api/v1/products/${crypto.randomUUID()}`);
    expect(missing.status).toBe(404);
    expect(missing.body.detail).toMatch(/X-Min-Position/);
    // Asked with X-Min-Position, a 404 is final: no hint.
    const final = await http('GET', `/api/v1/products/${crypto.randomUUID()}`, {
      headers: { 'x-min-position': created.body.position },
    });
    expect(final.status).toBe(404);
    expect(final.body.detail).not.toMatch(/X-Min-Position/);
  });

  it('says what is missing or mistyped, and what content type to send', async () => {
    const missing = await http('POST', '/api/v1/products', {
      token: adminToken,
      body: { name: 'n', category: 'kitchen', currency: 'EUR', stock: 1 },
    });
    expect(missing.status).toBe(400);
    expect(missing.body.detail).toBe('sku is required; priceCents is required');

    const customer = system!.banner.demo!.customer;
    const customerToken = (await http('POST', '/api/v1/auth/login', { body: customer })).body.accessToken as string;
    const mistyped = await http('POST', '/api/v1/orders', {
      token: customerToken,
      body: { lines: [{ productId: crypto.randomUUID(), quantity: '2' }] },
    });
    expect(mistyped.body.errors).toEqual([
      { field: 'lines.0.quantity', message: 'lines.0.quantity must be an integer, not a string' },
    ]);
    const empty = await http('POST', '/api/v1/orders', { token: customerToken, body: { lines: [] } });
    expect(empty.body.detail).toBe('lines must contain at least 1 element');
    const filter = await http('GET', '/api/v1/products?minPrice=abc');
    expect(filter.body.detail).toBe('minPrice must be an integer');

    const text = await http('POST', '/api/v1/auth/login', { rawBody: 'x', headers: { 'content-type': 'text/plain' } });
    expect(text.status).toBe(415);
    expect(text.body.detail).toMatch(/Content-Type: application\/json/);
  });

  it.each(['/docs/', '/docs/index.html'])('serves the OpenAPI UI at %s with every asset it links', async (path) => {
    const page = await fetch(`${system!.banner.apiUrl}${path}`);
    expect(page.status).toBe(200);
    const html = await page.text();
    const assets = [...html.matchAll(/(?:href|src)="([^"]+)"/g)].map((m) => new URL(m[1], page.url).toString());
    expect(assets.length).toBeGreaterThan(3);
    for (const asset of assets) expect([asset, (await fetch(asset)).status]).toEqual([asset, 200]);
  });

  it('lets `npm run cli` find the running system, print a plain table, and leave dist alone', async () => {
    const sentinel = join(ROOT, 'dist', `.first-steps-${process.pid}`);
    await writeFile(sentinel, '');
    try {
      const child = spawn('npm', ['run', '--silent', 'cli', '--', 'projections', 'status'], {
        cwd: ROOT,
        env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', DATA_DIR: dataDir, LOG_LEVEL: 'warn' },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let output = '';
      child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
      child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
      const [code] = (await once(child, 'exit')) as [number | null];
      expect([code, output]).toEqual([0, expect.any(String)]);
      const lines = output.trim().split('\n');
      expect(lines[0]).toMatch(/^projection +appliedPosition +headPosition +lagEvents +lagSeconds +deadLetters$/);
      expect(lines.find((line) => line.startsWith('catalog'))).toMatch(/^catalog +\d+ +\d+ +\d+ +[\d.]+ +\d+$/);
      expect(output).not.toMatch(/\(index\)|'/);
      await stat(sentinel); // still there: the cli did not wipe dist/
    } finally {
      await rm(sentinel, { force: true });
    }
  });

  it('tells the CLI user when the system is not running, and start:api without DATABASE_URL exits 78', async () => {
    const stale = await mkdtemp(join(tmpdir(), 'emporium-stale-'));
    try {
      const none = await runToExit('cli', { DATA_DIR: stale }, ['projections', 'status']);
      expect(none.code).toBe(69);
      expect(none.output).toMatch(/no embedded system is running in DATA_DIR .*start it with `npm start`/);
      await writeFile(join(stale, 'database-url'), 'postgresql://postgres@127.0.0.1:1/postgres\n');
      const gone = await runToExit('cli', { DATA_DIR: stale }, ['projections', 'status']);
      expect(gone.code).toBe(69);
      expect(gone.output).toMatch(/cannot reach the embedded database .*is `npm start` still running\?/);
      expect(gone.output).not.toMatch(/ECONNREFUSED\n|\n {4}at /);
    } finally {
      await rm(stale, { recursive: true, force: true });
    }
    const api = await runToExit('api', { LOG_LEVEL: 'warn' });
    expect(api.code).toBe(78);
    expect(api.output).toMatch(/DATABASE_URL: is required by the api/);
    expect(api.output).not.toMatch(/\n {4}at /);
  });
});
