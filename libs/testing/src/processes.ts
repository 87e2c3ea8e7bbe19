import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { poll } from './poll.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

export async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  server.close();
  await once(server, 'close');
  return port;
}

export interface RunningApp {
  url: string;
  process: ChildProcess;
  output(): string;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/**
 * Starts a built app (`dist/apps/<name>/src/main.js`) as a real process and waits until its
 * readiness probe answers 200. The e2e suites drive it over HTTP only.
 */
export async function startApp(name: 'api' | 'projector', env: Record<string, string>): Promise<RunningApp> {
  const port = await freePort();
  const portVariable = name === 'api' ? 'PORT' : 'PROJECTOR_PORT';
  const child = spawn(
    process.execPath,
    ['--enable-source-maps', '--import', './dist/libs/telemetry/src/otel/preload.js', `dist/apps/${name}/src/main.js`],
    {
      cwd: ROOT,
      env: { PATH: process.env.PATH ?? '', ...env, HOST: '127.0.0.1', [portVariable]: String(port) },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const url = `http://127.0.0.1:${port}`;
  const exited = once(child, 'exit');
  try {
    await Promise.race([
      poll(
        () => fetch(`${url}/health/ready`).then((r) => r.status),
        (status) => status === 200,
        { timeoutMs: 30_000, intervalMs: 50, what: `${name} readiness` },
      ),
      exited.then(([code]) => {
        throw new Error(`${name} exited with ${String(code)} before it was ready:\n${output}`);
      }),
    ]);
  } catch (error) {
    child.kill('SIGKILL');
    throw error;
  }
  return {
    url,
    process: child,
    output: () => output,
    stop: async (signal: NodeJS.Signals = 'SIGTERM') => {
      if (child.exitCode !== null) return child.exitCode;
      child.kill(signal);
      const [code] = (await exited) as [number | null];
      return code;
    },
  };
}

/** Runs an app (with `args`) until it exits: a refused start, or a CLI command; its exit code and output. */
export async function runToExit(
  name: 'api' | 'projector' | 'migrate' | 'all-in-one' | 'cli',
  env: Record<string, string>,
  args: string[] = [],
): Promise<{ code: number | null; output: string }> {
  const child = spawn(process.execPath, [`dist/apps/${name}/src/main.js`, ...args], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const [code] = (await once(child, 'exit')) as [number | null];
  return { code, output };
}
