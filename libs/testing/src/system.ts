import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { allEntities } from '@emporium/composition';
import { isolatedEnvironment, TEST_SETTINGS, type IsolatedEnvironment } from './isolation.js';
import { poll } from './poll.js';
import { startApp, type RunningApp } from './processes.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

/** What `npm start` prints once it serves (see apps/all-in-one/src/main.ts). */
export interface Banner {
  apiUrl: string;
  projectorUrl: string;
  /** The embedded database's socket (only in embedded mode). */
  databaseUrl?: string;
  demo?: { admin: { email: string; password: string }; customer: { email: string; password: string } };
}

export function parseBanner(output: string): Banner | undefined {
  const api = /^ {2}API +(http\S+?)\/api\/v1\/products\b/m.exec(output);
  const health = /^ {2}health +\S+ \(api\), (http\S+)\/health \(projections\)$/m.exec(output);
  if (!api || !health) return undefined;
  const tools = /^ {2}tools +DATABASE_URL=(\S+)/m.exec(output);
  const admin = /^ {2}admin +(\S+) +(\S+)$/m.exec(output);
  const customer = /^ {2}customer +(\S+) +(\S+)$/m.exec(output);
  return {
    apiUrl: api[1],
    projectorUrl: health[1],
    databaseUrl: tools?.[1],
    demo:
      admin && customer
        ? {
            admin: { email: admin[1], password: admin[2] },
            customer: { email: customer[1], password: customer[2] },
          }
        : undefined,
  };
}

/** A started `npm start`-style process (the all-in-one app), known by what it printed. */
export interface RunningSystemProcess {
  process: ChildProcess;
  banner: Banner;
  output(): string;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/**
 * Spawns `command` (by default the built all-in-one app, as `npm start` runs it) and waits for
 * its banner and for the api's readiness probe.
 */
export async function startAllInOne(
  env: Record<string, string>,
  {
    cwd = ROOT,
    command,
    processGroup = false,
  }: {
    cwd?: string;
    command?: [string, ...string[]];
    /** Run it in a process group of its own and signal the whole group, as Ctrl-C in a terminal does. */
    processGroup?: boolean;
  } = {},
): Promise<RunningSystemProcess> {
  const [file, ...args] = command ?? [
    process.execPath,
    '--enable-source-maps',
    '--import',
    './dist/libs/telemetry/src/otel/preload.js',
    'dist/apps/all-in-one/src/main.js',
  ];
  const child = spawn(file, args, {
    cwd,
    env: { PATH: process.env.PATH ?? '', ...env },
    stdio: 'pipe',
    detached: processGroup,
  });
  const signal = (name: NodeJS.Signals): void => {
    if (processGroup && child.pid !== undefined) process.kill(-child.pid, name);
    else child.kill(name);
  };
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = once(child, 'exit');
  let banner: Banner | undefined;
  try {
    await Promise.race([
      (async () => {
        banner = await poll(
          async () => (output.includes('Ctrl-C stops it') ? parseBanner(output) : undefined),
          (b) => b !== undefined,
          { timeoutMs: 180_000, intervalMs: 100, what: 'the start-up banner' },
        );
        await poll(
          () => fetch(`${banner!.apiUrl}/health/ready`).then((r) => r.status),
          (status) => status === 200,
          { timeoutMs: 30_000, intervalMs: 100, what: 'api readiness' },
        );
      })(),
      exited.then(([code]) => {
        throw new Error(`the system exited with ${String(code)} before it was ready:\n${output}`);
      }),
    ]);
  } catch (error) {
    signal('SIGKILL');
    throw error;
  }
  return {
    process: child,
    banner: banner!,
    output: () => output,
    stop: async (name: NodeJS.Signals = 'SIGTERM') => {
      if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
      signal(name);
      const [code] = (await exited) as [number | null];
      return code;
    },
  };
}

export type SystemMode = 'embedded' | 'distributed';

/** The system a contract suite drives, in either mode, through HTTP and its database. */
export interface SystemUnderTest {
  mode: SystemMode;
  apiUrl: string;
  projectorUrl: string;
  /** A URL to the system's database (embedded: its socket, while the system runs). */
  databaseUrl: string;
  /** Distributed mode only: the isolated database, exchange and queue names. */
  environment?: IsolatedEnvironment;
  /** Environment the system's processes run with. */
  env: Record<string, string>;
  stop(): Promise<void>;
  /** Distributed mode only: the projector process (stoppable and restartable on its own). */
  projector?: RunningApp;
  restartProjector?(): Promise<void>;
}

/**
 * Starts the whole system in one of its two modes, isolated from every other test file:
 * `distributed`: api and projector processes on the test PostgreSQL and RabbitMQ (own database,
 * exchange and queues); `embedded`: the all-in-one process on its own embedded database in a
 * temporary data directory, with the in-process transport.
 */
export async function startSystem(
  mode: SystemMode,
  label: string,
  settings: Record<string, string> = {},
): Promise<SystemUnderTest> {
  if (mode === 'distributed') {
    const environment = await isolatedEnvironment(label, allEntities);
    const env = { ...environment.env, ...settings };
    const [api, projector] = await Promise.all([startApp('api', env), startApp('projector', env)]);
    const system: SystemUnderTest = {
      mode,
      apiUrl: api.url,
      projectorUrl: projector.url,
      databaseUrl: environment.databaseUrl,
      environment,
      env,
      projector,
      restartProjector: async () => {
        await system.projector?.stop();
        system.projector = await startApp('projector', env);
        system.projectorUrl = system.projector.url;
      },
      stop: async () => {
        await api.stop();
        await system.projector?.stop();
        await environment.dispose();
      },
    };
    return system;
  }
  const dataDir = await mkdtemp(join(tmpdir(), `emporium-${label.replace(/[^a-z0-9]/gi, '')}-`));
  const env = { ...TEST_SETTINGS, DATA_DIR: dataDir, HOST: '127.0.0.1', PORT: '0', PROJECTOR_PORT: '0', ...settings };
  const running = await startAllInOne(env);
  return {
    mode,
    apiUrl: running.banner.apiUrl,
    projectorUrl: running.banner.projectorUrl,
    databaseUrl: running.banner.databaseUrl!,
    env,
    stop: async () => {
      await running.stop();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}
