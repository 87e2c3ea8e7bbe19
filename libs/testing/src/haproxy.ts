import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository's deploy/haproxy/haproxy.cfg, found from the sources or from dist/ (the bench). */
function deployedConfig(): string {
  for (let up = '../../../'; up.length < 30; up += '../') {
    const file = fileURLToPath(new URL(`${up}deploy/haproxy/haproxy.cfg`, import.meta.url));
    if (existsSync(file)) return readFileSync(file, 'utf8');
  }
  throw new Error('deploy/haproxy/haproxy.cfg not found above libs/testing');
}

/** The installed HAProxy's version line, or undefined (Debian/Ubuntu: `apt-get install -y haproxy`). */
export function haproxyVersion(): string | undefined {
  try {
    return execFileSync('haproxy', ['-v'], { encoding: 'utf8' }).split('\n')[0];
  } catch {
    return undefined;
  }
}

/**
 * deploy/haproxy/haproxy.cfg for api processes on this machine: the Docker DNS server template
 * replaced by one server per local port, the binds moved to loopback, no resolver, no access log.
 * Everything else (health checks, timeouts, retries) is what docker-compose.yml deploys.
 */
export function localHaproxyConfig(servers: number[], port: number, statsPort: number): string {
  const local = deployedConfig()
    .replace(/^[ \t]*server-template .*$/m, servers.map((p, i) => `  server api${i + 1} 127.0.0.1:${p}`).join('\n'))
    .replace(/^([ \t]*)bind :8080$/m, `$1bind 127.0.0.1:${port}`)
    .replace(/^([ \t]*)bind :8404$/m, `$1bind 127.0.0.1:${statsPort}`)
    .replace(/^resolvers docker\n(?:[ \t]+.*\n)+/m, '')
    .replace(/^[ \t]*log stdout .*$/m, '')
    .replace(/^[ \t]*option httplog$/m, '');
  if (local.includes('server-template') || !local.includes('server api1 127.0.0.1:')) {
    throw new Error('deploy/haproxy/haproxy.cfg no longer has the lines localHaproxyConfig replaces');
  }
  return local;
}

/** The backend's servers that HAProxy currently routes to (its stats page, CSV). */
export async function serversUp(statsPort: number): Promise<string[]> {
  const csv = await (await fetch(`http://127.0.0.1:${statsPort}/;csv`)).text();
  return csv
    .split('\n')
    .map((line) => line.split(','))
    .filter((f) => f[0] === 'api' && /^api\d+$/.test(f[1]) && f[17] === 'UP')
    .map((f) => f[1]);
}

/** HAProxy in the foreground in front of `servers`, once it routes to every one of them. */
export async function startHaproxy(servers: number[], port: number, statsPort: number): Promise<ChildProcess> {
  const dir = mkdtempSync(join(tmpdir(), 'emporium-haproxy-'));
  const file = join(dir, 'haproxy.cfg');
  writeFileSync(file, localHaproxyConfig(servers, port, statsPort));
  const child = spawn('haproxy', ['-db', '-f', file], { stdio: ['ignore', 'ignore', 'pipe'] });
  let output = '';
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const deadline = Date.now() + 15_000;
  while (Date.now() < deadline && child.exitCode === null) {
    try {
      if ((await serversUp(statsPort)).length === servers.length) return child;
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  child.kill('SIGKILL');
  throw new Error(`HAProxy on :${port} never routed to its ${servers.length} server(s):\n${output}`);
}
