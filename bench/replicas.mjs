// The api scaled out on one machine: N api processes behind HAProxy, configured by the same
// deploy/haproxy/haproxy.cfg as docker-compose.yml (only the server line, the addresses it binds
// and the Docker resolver differ). Used by bench/run.mjs (BENCH_API_REPLICAS).
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const ROOT = new URL('../', import.meta.url).pathname;

/** HAProxy must be installed: say how, before anything is seeded. */
export function requireHaproxy() {
  try {
    return execFileSync('haproxy', ['-v'], { encoding: 'utf8' }).split('\n')[0];
  } catch {
    throw new Error(
      'the replica runs (BENCH_API_REPLICAS) need HAProxy on the PATH: on Debian/Ubuntu `apt-get install -y haproxy` ' +
        '(2.6 or newer); BENCH_API_REPLICAS=0 skips them',
    );
  }
}

/** deploy/haproxy/haproxy.cfg with `servers` (local ports) in place of the Docker DNS template. */
export function haproxyConfig(servers, port, statsPort) {
  const deployed = readFileSync(`${ROOT}deploy/haproxy/haproxy.cfg`, 'utf8');
  const replaced = deployed
    .replace(/^[ \t]*server-template .*$/m, servers.map((p, i) => `  server api${i + 1} 127.0.0.1:${p}`).join('\n'))
    .replace(/^(\s*)bind :8080$/m, `$1bind 127.0.0.1:${port}`)
    .replace(/^(\s*)bind :8404$/m, `$1bind 127.0.0.1:${statsPort}`)
    .replace(/^resolvers docker\n(?:[ \t]+.*\n)+/m, '')
    // Its log line per request would cost the machine the benchmark measures.
    .replace(/^[ \t]*log stdout .*$/m, '')
    .replace(/^[ \t]*option httplog$/m, '');
  if (replaced.includes('server-template') || !replaced.includes(`server api1 127.0.0.1:`)) {
    throw new Error('deploy/haproxy/haproxy.cfg no longer has the lines bench/replicas.mjs replaces');
  }
  return replaced;
}

/** Starts HAProxy in the foreground on `port` in front of `servers`; resolves once every server is up. */
export async function startHaproxy(servers, port, statsPort) {
  const dir = mkdtempSync(join(tmpdir(), 'emporium-haproxy-'));
  const file = join(dir, 'haproxy.cfg');
  writeFileSync(file, haproxyConfig(servers, port, statsPort));
  const child = spawn('haproxy', ['-db', '-f', file], { stdio: ['ignore', 'ignore', 'inherit'] });
  for (let i = 0; i < 100; i++) {
    try {
      const csv = await (await fetch(`http://127.0.0.1:${statsPort}/;csv`)).text();
      const up = csv.split('\n').filter((l) => /^api,api\d+,/.test(l) && l.split(',')[17] === 'UP').length;
      if (up === servers.length) return child;
    } catch {}
    await new Promise((r) => setTimeout(r, 100));
  }
  child.kill('SIGKILL');
  throw new Error(`HAProxy on :${port} never saw its ${servers.length} api replica(s) ready`);
}
