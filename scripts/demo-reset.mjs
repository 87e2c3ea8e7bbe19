// `npm run demo:reset`: deletes the embedded database's data directory (DATA_DIR, default .data),
// so the next `npm start` seeds the demo catalog again and prints new demo passwords. Refuses while
// a system is running on it (its lock file is held) and when DATABASE_URL points at a server.
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { resolve } from 'node:path';

if (process.env.DATABASE_URL) {
  console.error('DATABASE_URL is set: demo:reset only deletes the embedded database (DATA_DIR), never a server');
  process.exit(64);
}
const dir = resolve(process.env.DATA_DIR ?? '.data');
const lock = resolve(dir, 'emporium.lock');
const owner = existsSync(lock) ? Number(readFileSync(lock, 'utf8').trim()) : 0;
if (owner > 0 && alive(owner)) {
  console.error(`${dir} is in use by a running \`npm start\` (process ${owner}): stop it (Ctrl-C) first`);
  process.exit(75);
}
if (!existsSync(dir)) {
  console.log(`${dir} does not exist: the next \`npm start\` seeds the demo data`);
  process.exit(0);
}
rmSync(dir, { recursive: true, force: true });
console.log(`deleted ${dir}: the next \`npm start\` seeds the demo catalog and prints new demo passwords`);

function alive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return error.code === 'EPERM';
  }
}
