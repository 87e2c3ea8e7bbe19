// `npm run start:dev`: the all-in-one system (embedded defaults unless DATABASE_URL/AMQP_URL are
// set), recompiled and restarted whenever a file under apps/ or libs/ changes. Compiling is swc
// (scripts/compile.mjs: files are rewritten in place); the restart is a SIGTERM, so the running system
// drains and releases its data directory before the new one starts. Ctrl-C stops both.
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { watch } from 'node:fs';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const APP = [
  '--enable-source-maps',
  '--import',
  './dist/libs/telemetry/src/otel/preload.js',
  'dist/apps/all-in-one/src/main.js',
];

const compile = () =>
  spawnSync(process.execPath, ['scripts/compile.mjs'], { cwd: ROOT, stdio: 'inherit' }).status === 0;

let child;
let stopping = false;

function start() {
  child = spawn(process.execPath, APP, { cwd: ROOT, stdio: 'inherit' });
}

async function stopChild() {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  child.kill('SIGTERM');
  await exited;
}

let timer;
let restarting = Promise.resolve();
function changed(_event, file) {
  if (stopping || !file || !/\.(ts|json)$/.test(file) || /\.spec\.ts$/.test(file)) return;
  clearTimeout(timer);
  timer = setTimeout(() => {
    restarting = restarting.then(async () => {
      console.log(`\n[start:dev] ${file} changed: recompiling`);
      if (!compile()) {
        console.log('[start:dev] compilation failed; the running system is left as it was');
        return;
      }
      console.log('[start:dev] restarting');
      await stopChild();
      if (!stopping) start();
    });
  }, 200);
}

if (!compile()) process.exit(1);
start();
for (const dir of ['apps', 'libs'])
  watch(new URL(`../${dir}/`, import.meta.url), { recursive: true }, (event, file) => changed(event, `${dir}/${file}`));
console.log('[start:dev] watching apps/ and libs/ (Ctrl-C stops)');

for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => {
    if (stopping) process.exit(130);
    stopping = true;
    // A terminal's Ctrl-C reaches the child too; wait for it to finish draining.
    void stopChild().then(() => process.exit(0));
  });
}
