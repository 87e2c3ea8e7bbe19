import { execFile } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { promisify } from 'node:util';
import type { RunningApp } from './processes.js';

const run = promisify(execFile);

/**
 * `rabbitmqctl -q <args>`, without blocking the event loop: it takes a second or two (it boots an
 * Erlang VM), and a suite's load must keep running meanwhile. Resolves to its standard output.
 */
export async function rabbitmqctl(...args: string[]): Promise<string> {
  const { stdout } = await run('rabbitmqctl', ['-q', ...args], { timeout: 120_000 });
  return stdout;
}

/**
 * Deliveries the broker handed to consumers that have not been acked yet, summed over the
 * queues whose name starts with `queuePrefix.` (one test environment's queues).
 */
export async function deliveriesInFlight(queuePrefix: string): Promise<number> {
  const output = await rabbitmqctl('list_queues', 'name', 'messages_unacknowledged');
  let total = 0;
  for (const line of output.split('\n')) {
    const [name, count] = line.trim().split(/\s+/);
    if (name?.startsWith(`${queuePrefix}.`) && /^\d+$/.test(count ?? '')) total += Number(count);
  }
  return total;
}

/** `pg_ctlcluster` on the machine's one PostgreSQL cluster, without blocking the event loop. */
export async function postgresCluster(action: 'restart' | 'stop' | 'start'): Promise<void> {
  const version = readdirSync('/etc/postgresql')[0];
  await run('pg_ctlcluster', ['--skip-systemctl-redirect', version, 'main', action], { timeout: 120_000 });
}

export function isRunning(app: RunningApp): boolean {
  return app.process.exitCode === null && app.process.signalCode === null;
}

const appFrame = (line: string): boolean =>
  /^\s+at /.test(line) && !line.includes('node_modules') && !line.includes('node:');
const shortFrame = (line: string): string => line.trim().replace(/file:\/\/\S*?\/(dist|libs|apps)\//, '$1/');

/**
 * The distinct errors an app wrote, with how often, most recent last: pino lines at level error
 * or above and uncaught errors, each as its first line and the first frame of the app's own code
 * (the part that says where).
 */
export function loggedErrors(output: string, limit = 8): string[] {
  const lines = output.split('\n');
  const counts = new Map<string, number>();
  for (const [i, line] of lines.entries()) {
    let message: string | undefined;
    if (line.startsWith('{')) {
      try {
        const entry = JSON.parse(line) as { level?: number; message?: string; msg?: string; err?: { stack?: string } };
        if ((entry.level ?? 0) >= 50) {
          const text = (entry.err?.stack ?? entry.message ?? entry.msg ?? '').split('\n');
          message = [text[0], ...text.slice(1).filter(appFrame).slice(0, 1).map(shortFrame)].join(' ');
        }
      } catch {
        // not a log line
      }
    } else if (/^[A-Za-z]*(Error|Exception)(:|$)/.test(line)) {
      message = [
        line,
        ...lines
          .slice(i + 1, i + 15)
          .filter(appFrame)
          .slice(0, 2)
          .map(shortFrame),
      ].join(' ');
    }
    if (message) {
      const key = message.slice(0, 400);
      const seen = counts.get(key) ?? 0;
      counts.delete(key); // re-inserted: most recent last
      counts.set(key, seen + 1);
    }
  }
  return [...counts].slice(-limit).map(([message, n]) => `${n}× ${message}`);
}

/** How an app process ended, with the last errors it logged: for a failure message. */
export function describeExit(name: string, app: RunningApp): string {
  const how =
    app.process.signalCode !== null
      ? `was killed by ${app.process.signalCode}`
      : `exited on its own with code ${app.process.exitCode}`;
  const errors = loggedErrors(app.output(), 5);
  const tail = errors.length ? errors.join(' | ') : app.output().trim().split('\n').slice(-5).join(' | ').slice(-1500);
  return `${name} ${how}: ${tail}`;
}
