import { execFile } from 'node:child_process';
import { access, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { httpClient, poll, runToExit, startAllInOne, type RunningSystemProcess } from '@emporium/testing';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const run = promisify(execFile);

/** The lines of the README's quick-start block, exactly as written. */
async function quickStartLines(): Promise<string[]> {
  const readme = await readFile(join(ROOT, 'README.md'), 'utf8');
  const block = /<!-- quick-start[^>]*-->\s*```sh\n([\s\S]*?)```\s*<!-- \/quick-start -->/.exec(readme);
  if (!block) throw new Error('README.md has no quick-start block');
  return block[1].split('\n').filter((line) => line.trim() !== '');
}

/** A shell line as argv (the quick start is plain words; anything fancier fails loudly here). */
function argv(line: string): [string, ...string[]] {
  if (!/^[\w@./:=-]+( [\w@./:=-]+)*$/.test(line)) throw new Error(`not a plain command: ${line}`);
  return line.split(' ') as [string, ...string[]];
}

/**
 * The newcomer's first five minutes, on a fresh clone: the README's quick start, run exactly as
 * written with no service variables set, brings up the whole system; the demo catalog is there,
 * the demo customer can order, and after a restart everything is still there. (Ports are set to
 * 0 so parallel suites never collide; the system prints where it listens.)
 */
describe('README quick start on a fresh clone', () => {
  let dir: string;
  let clone: string;
  let system: RunningSystemProcess | undefined;
  const env: Record<string, string> = Object.fromEntries(
    Object.entries(process.env).filter(
      ([name, value]) =>
        value !== undefined && !/^(DATABASE_URL|AMQP_URL|DATA_DIR|NODE_ENV|JWT_|ADMIN_|DEMO_DATA|PORT$)/.test(name),
    ),
  ) as Record<string, string>;
  Object.assign(env, { PORT: '0', PROJECTOR_PORT: '0', LOG_LEVEL: 'warn' });

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'emporium-clone-'));
    clone = join(dir, 'emporium');
    await run('git', ['clone', '--quiet', ROOT, clone]);
  });

  afterAll(async () => {
    await system?.stop('SIGKILL');
    await rm(dir, { recursive: true, force: true });
  });

  const start = (command: string): Promise<RunningSystemProcess> =>
    startAllInOne(env, { cwd: clone, command: argv(command), processGroup: true });

  /** Ctrl-C, as a terminal sends it to the whole process group; the process releases its data directory. */
  const stop = async (running: RunningSystemProcess): Promise<number> => {
    const started = Date.now();
    await running.stop('SIGINT');
    await poll(
      () =>
        access(join(clone, '.data', 'emporium.lock')).then(
          () => true,
          () => false,
        ),
      (locked) => !locked,
      { timeoutMs: 15_000, intervalMs: 50, what: 'the system to exit and release .data' },
    );
    expect(running.output()).toContain('stopped');
    return Date.now() - started;
  };

  it('is exactly two lines', async () => {
    expect(await quickStartLines()).toEqual(['npm ci', 'npm start']);
  });

  it('installs, starts on the embedded defaults, serves the demo shop, and keeps its data across a restart', async () => {
    const [install, startCommand] = await quickStartLines();
    const [file, ...args] = argv(install);
    await run(file, args, { cwd: clone, env, maxBuffer: 64 * 1024 * 1024 });

    system = await start(startCommand);
    const first = system.output();
    expect(first).toMatch(/database +embedded PostgreSQL \(PGlite\) in .*\.data \(DATA_DIR\)/);
    expect(first).toMatch(/messaging +in-process transport reading event_log/);
    const demo = system.banner.demo;
    if (!demo) throw new Error(`no demo accounts printed on first start:\n${first}`);
    const http = httpClient(system.banner.apiUrl);

    const catalog = await poll(
      () => http('GET', '/api/v1/products?limit=100'),
      (r) => r.status === 200 && r.body.items.length === 12,
      { what: 'the demo catalog' },
    );
    const product = catalog.body.items.find((p: { sku: string }) => p.sku === 'DEMO-MUG-01');
    const login = await http('POST', '/api/v1/auth/login', { body: demo.customer });
    expect(login.status).toBe(200);
    const token = login.body.accessToken as string;
    const placed = await http('POST', '/api/v1/orders', {
      token,
      body: { lines: [{ productId: product.id, quantity: 2 }] },
    });
    expect(placed.status).toBe(201);
    const order = await http('GET', `/api/v1/orders/${placed.body.id}`, {
      token,
      headers: { 'x-min-position': placed.body.position },
    });
    expect(order.body).toMatchObject({ status: 'placed', totalCents: 2 * product.priceCents });

    expect(await stop(system)).toBeLessThan(10_000);

    system = await start(startCommand);
    expect(system.banner.demo).toBeUndefined(); // printed once
    const again = httpClient(system.banner.apiUrl);
    // The customer's session and password survive the restart, like the data.
    const kept = await again('GET', `/api/v1/orders/${placed.body.id}`, { token });
    expect(kept.status).toBe(200);
    expect(kept.body).toMatchObject({ id: placed.body.id, status: 'placed' });
    expect((await again('POST', '/api/v1/auth/login', { body: demo.customer })).status).toBe(200);
    const mug = await again('GET', `/api/v1/products/${product.id}`);
    expect(mug.body.stock).toBe(product.stock - 2);
    expect((await again('GET', '/api/v1/products?limit=100')).body.items).toHaveLength(12);
    await stop(system);
    system = undefined;
  }, 600_000);

  it('stops with a message naming the setting and the fix when DATABASE_URL is unreachable or DATA_DIR unwritable', async () => {
    const startBuilt = (settings: Record<string, string>): Promise<{ code: number | null; output: string }> =>
      runToExit('all-in-one', { LOG_LEVEL: 'warn', PORT: '0', PROJECTOR_PORT: '0', ...settings });
    const unreachable = await startBuilt({ DATABASE_URL: 'postgresql://app:secret@127.0.0.1:1/shop' });
    expect(unreachable.code).toBe(69);
    expect(unreachable.output).toMatch(
      /DATABASE_URL: cannot reach PostgreSQL at postgresql:\/\/app:\*\*\*@127\.0\.0\.1:1\/shop/,
    );
    expect(unreachable.output).not.toContain('secret');

    const file = join(dir, 'not-a-directory');
    await run('touch', [file]);
    const unwritable = await startBuilt({ DATA_DIR: join(file, 'data') });
    expect(unwritable.code).toBe(73);
    expect(unwritable.output).toMatch(/DATA_DIR: cannot write to .*; set DATA_DIR to a directory you can write/);
  });
});
