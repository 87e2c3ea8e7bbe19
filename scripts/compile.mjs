// `npm run compile`: swc over apps/ and libs/ into dist/, in place (nothing is deleted, so a
// running system keeps its files), then a stamp. `--if-stale` skips the work when no source is
// newer than the stamp: `npm run cli` starts at once and never rewrites the dist/ a running
// system uses. `npm run build` is the clean build (rm -rf dist, then this).
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const STAMP = join(ROOT, 'dist/.compiled');

function newestSource() {
  let newest = statSync(join(ROOT, '.swcrc')).mtimeMs;
  for (const dir of ['apps', 'libs']) {
    for (const file of readdirSync(join(ROOT, dir), { recursive: true })) {
      if (!/\.ts$/.test(file) || /\.spec\.ts$/.test(file)) continue;
      newest = Math.max(newest, statSync(join(ROOT, dir, file)).mtimeMs);
    }
  }
  return newest;
}

function stampTime() {
  try {
    return statSync(STAMP).mtimeMs;
  } catch {
    return 0;
  }
}

if (process.argv.includes('--if-stale') && stampTime() >= newestSource()) process.exit(0);
const swc = join(ROOT, 'node_modules/@swc/cli/bin/swc.js');
const args = ['apps', 'libs', '-d', 'dist', '--config-file', '.swcrc', '--ignore', '**/*.spec.ts', '--quiet'];
const { status } = spawnSync(process.execPath, [swc, ...args], { cwd: ROOT, stdio: 'inherit' });
if (status !== 0) process.exit(status ?? 1);
writeFileSync(STAMP, `${new Date().toISOString()}\n`);
