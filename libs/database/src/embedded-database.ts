import { constants } from 'node:fs';
import { access, mkdir, open, readFile, rm, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { serveSession, type SessionSocketServer } from './embedded-socket.js';

/** A start-up problem with the embedded database's setting, worded for the person who runs it. */
export class EmbeddedDatabaseError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'EmbeddedDatabaseError';
  }
}

const servedHere = new Set<string>();

/**
 * Is `url` an embedded database served by this process? Its connections share one session, so
 * named prepared statements (per session in PostgreSQL) must not be used on it: a second
 * connection preparing the same name would find it taken.
 */
export function isEmbeddedDatabaseUrl(url: string | undefined): boolean {
  return url !== undefined && servedHere.has(url);
}

export interface EmbeddedDatabase {
  /** A `postgresql://` URL to the embedded database, for the same driver as a real server. */
  url: string;
  /** The absolute data directory. */
  dataDir: string;
  /** True when this start created the database (first start on this data directory). */
  created: boolean;
  /** Stops the socket, shuts PostgreSQL down cleanly (checkpoint) and releases the data directory. */
  close(): Promise<void>;
}

export interface EmbeddedDatabaseOptions {
  dataDir: string;
  /** Loopback port of the wire-protocol socket; 0 picks a free one. */
  port: number;
  /** Connections the socket accepts at once (pools of every app in the process, plus tools). */
  maxConnections: number;
}

/**
 * PostgreSQL compiled to WebAssembly (PGlite), persisted under `dataDir`, served on a loopback
 * socket that speaks the PostgreSQL wire protocol, so MikroORM, the migrations and `pg` reach it
 * exactly as they reach a server (docs/adr/0011-embedded-mode.md).
 *
 * PGlite is one PostgreSQL session: the socket (embedded-socket.ts) runs one message at a time
 * and gives a connection the session for a whole extended-protocol batch and a whole transaction. Concurrency is therefore
 * serialised (correct, not fast), and a transaction must never wait on a second connection.
 * One process owns a data directory at a time; a lock file says which.
 */
export async function startEmbeddedDatabase(options: EmbeddedDatabaseOptions): Promise<EmbeddedDatabase> {
  const dataDir = resolve(options.dataDir);
  await ensureWritable(dataDir, options.dataDir);
  const lock = await lockDataDirectory(dataDir, options.dataDir);
  try {
    const pgdata = join(dataDir, 'pglite');
    const created = !(await exists(join(pgdata, 'PG_VERSION')));
    const db = await PGlite.create({ dataDir: pgdata });
    let server: SessionSocketServer;
    try {
      server = await serveSession(db, {
        host: '127.0.0.1',
        port: options.port,
        maxConnections: options.maxConnections,
      });
    } catch (error) {
      await db.close();
      const code = (error as { code?: string }).code;
      throw new EmbeddedDatabaseError(
        `EMBEDDED_DB_PORT: cannot listen on 127.0.0.1:${options.port} (${code ?? (error as Error).message}); ` +
          'choose a free port, or 0 for any',
      );
    }
    const url = `postgresql://postgres@${server.address}/postgres`;
    servedHere.add(url);
    return {
      url,
      dataDir,
      created,
      close: async () => {
        servedHere.delete(url);
        await server.stop();
        await db.close();
        await lock.release();
      },
    };
  } catch (error) {
    await lock.release();
    throw error;
  }
}

async function ensureWritable(dataDir: string, setting: string): Promise<void> {
  const fix = `set DATA_DIR to a directory you can write, or fix its permissions`;
  try {
    await mkdir(dataDir, { recursive: true });
    await access(dataDir, constants.W_OK | constants.X_OK);
    const probe = join(dataDir, `.write-probe-${process.pid}`);
    await writeFile(probe, '');
    await rm(probe);
  } catch (error) {
    const code = (error as { code?: string }).code ?? (error as Error).message;
    throw new EmbeddedDatabaseError(`DATA_DIR: cannot write to "${setting}" (${dataDir}: ${code}); ${fix}`);
  }
}

async function lockDataDirectory(dataDir: string, setting: string): Promise<{ release(): Promise<void> }> {
  const file = join(dataDir, 'emporium.lock');
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const handle = await open(file, 'wx', 0o600);
      await handle.writeFile(`${process.pid}\n`);
      await handle.close();
      let released = false;
      return {
        release: async () => {
          if (released) return;
          released = true;
          await rm(file, { force: true });
        },
      };
    } catch (error) {
      if ((error as { code?: string }).code !== 'EEXIST') throw error;
      const owner = Number((await readFile(file, 'utf8').catch(() => '')).trim());
      if (Number.isInteger(owner) && owner > 0 && isAlive(owner)) {
        throw new EmbeddedDatabaseError(
          `DATA_DIR: "${setting}" is in use by process ${owner} (another \`npm start\`?); ` +
            'stop that process, or set DATA_DIR to another directory',
        );
      }
      // Left behind by a process that died: take it over.
      await rm(file, { force: true });
    }
  }
  throw new EmbeddedDatabaseError(`DATA_DIR: could not lock "${setting}" (${file}); another process keeps taking it`);
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as { code?: string }).code === 'EPERM';
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await access(path);
    return true;
  } catch {
    return false;
  }
}
