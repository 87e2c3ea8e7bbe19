import 'reflect-metadata';
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { AppConfig, ConfigError, embeddedDatabaseUrlFile } from '@emporium/config';
import { Lifecycle } from '@emporium/health';
import { allEntities } from '@emporium/composition';
import {
  EmbeddedDatabaseError,
  ensureDatabase,
  migrateUp,
  startEmbeddedDatabase,
  unreachableDatabase,
  type EmbeddedDatabase,
} from '@emporium/database';
import { startApi } from '../../api/src/bootstrap.js';
import { startProjector } from '../../projector/src/bootstrap.js';
import { demoCatalogProjected, seedDemoData, type DemoAccounts } from './demo-data.js';

/**
 * `npm start`: the whole system in one process. With nothing configured it runs on the embedded
 * PostgreSQL (PGlite, under DATA_DIR) and the in-process transport; DATABASE_URL and AMQP_URL
 * switch each part to the real service (docs/adr/0011-embedded-mode.md). It migrates, seeds a
 * demo catalog into an empty database, serves, and on SIGINT/SIGTERM drains the api, then the
 * projections, then closes the embedded database cleanly.
 */

let config: AppConfig | undefined;
let embedded: EmbeddedDatabase | undefined;
const apps: NestFastifyApplication[] = [];
try {
  config = AppConfig.fromEnvironment(process.env);
  if (config.database.url === undefined) {
    config = await withPersistentDevelopmentKey(config);
    // Every pool of the process (api, projector, relay, transport) plus a few for tools.
    const maxConnections = 2 * config.database.poolMax + 8;
    embedded = await startEmbeddedDatabase({
      dataDir: config.database.dataDir,
      port: config.database.embeddedPort,
      maxConnections,
    });
    config = config.withEmbeddedDatabase(embedded.url);
  } else if (config.env !== 'production') {
    await ensureDatabase(config);
  }
  const applied = await migrateUp(config, allEntities);
  const running = config;
  apps.push(await startApi(running, { shutdownHooks: false, markReady: false }));
  apps.push(
    await startProjector(running, {
      shutdownHooks: false,
      markReady: false,
      metricsAt: `${await apps[0].getUrl()}/metrics`,
    }),
  );
  const demo = running.demoData ? await seedDemoData(apps[0]) : undefined;
  // Ready means a visitor sees the shop: the demo catalog is in the read model, not only written.
  if (demo) await demoCatalogProjected(apps[0], demo.position, 60_000);
  if (embedded) await writeEmbeddedDatabaseUrl(running.database.dataDir, embedded.url);
  for (const app of apps) app.get(Lifecycle).markReady();
  stopOnSignals(running.shutdownGraceMs);
  await announce(running, applied, demo);
} catch (error) {
  await Promise.allSettled(apps.map((app) => app.close()));
  await embedded?.close().catch(() => undefined);
  const known = explain(error, config);
  if (!known) throw error;
  console.error(known.message);
  process.exit(known.code);
}

/** A start-up failure an operator can fix, with its exit code (sysexits.h); undefined otherwise. */
function explain(error: unknown, current: AppConfig | undefined): { message: string; code: number } | undefined {
  if (error instanceof ConfigError) return { message: error.message, code: 78 };
  if (error instanceof EmbeddedDatabaseError) return { message: error.message, code: 73 };
  const unreachable = current && unreachableDatabase(error, current);
  if (unreachable) return { message: unreachable, code: 69 };
  const e = error as { code?: string; port?: number };
  if (e?.code === 'EADDRINUSE') {
    return {
      message: `PORT/PROJECTOR_PORT: port ${String(e.port)} is in use; set PORT or PROJECTOR_PORT to a free port`,
      code: 69,
    };
  }
  return undefined;
}

/**
 * Without JWT settings a development process signs with a key of its own. Here the key is kept
 * in the data directory, so sessions survive a restart like the data does.
 */
async function withPersistentDevelopmentKey(current: AppConfig): Promise<AppConfig> {
  if (!current.jwt.ephemeral || current.jwt.algorithm !== 'HS256') return current;
  const dir = resolve(current.database.dataDir);
  const file = join(dir, 'jwt-secret');
  let secret = (await readFile(file, 'utf8').catch(() => '')).trim();
  if (secret.length < 32) {
    secret = randomBytes(48).toString('base64url');
    try {
      await mkdir(dir, { recursive: true });
      await writeFile(file, `${secret}\n`, { mode: 0o600 });
    } catch (error) {
      throw new EmbeddedDatabaseError(
        `DATA_DIR: cannot write to "${current.database.dataDir}" (${dir}: ${(error as { code?: string }).code ?? (error as Error).message}); ` +
          'set DATA_DIR to a directory you can write, or fix its permissions',
      );
    }
  }
  return AppConfig.fromEnvironment({ ...process.env, JWT_SECRET: secret });
}

function stopOnSignals(graceMs: number): void {
  let stopping = false;
  const stop = (signal: NodeJS.Signals): void => {
    if (stopping) {
      // A second Ctrl-C: stop waiting.
      process.exit(130);
    }
    stopping = true;
    setTimeout(() => {
      process.stderr.write(`shutdown did not finish within ${graceMs} ms; exiting\n`);
      process.exit(1);
    }, graceMs).unref();
    console.log(`\n${signal}: stopping (finishing requests and projections in flight)...`);
    void (async () => {
      // Requests first (the api stops accepting and finishes what it has), then projections.
      for (const app of apps) await app.close();
      if (embedded) await rm(embeddedDatabaseUrlFile(embedded.dataDir), { force: true });
      await embedded?.close();
      console.log('stopped');
      process.exit(0);
    })();
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

async function announce(current: AppConfig, applied: string[], demo: DemoAccounts | undefined): Promise<void> {
  const api = await apps[0].getUrl();
  const projector = await apps[1].getUrl();
  const lines = [
    '',
    `Emporium is running (api, ${current.amqp.url === undefined ? '' : 'relay, '}projections: one process)`,
    `  database    ${
      embedded
        ? `embedded PostgreSQL (PGlite) in ${embedded.dataDir} (DATA_DIR); set DATABASE_URL to use a server`
        : `PostgreSQL at ${redacted(current.database.url ?? '')} (DATABASE_URL)`
    }`,
    `  messaging   ${
      current.amqp.url === undefined
        ? 'in-process transport reading event_log; set AMQP_URL to use RabbitMQ'
        : `RabbitMQ at ${redacted(current.amqp.url)} (AMQP_URL)`
    }`,
    `  migrations  ${applied.length ? `applied ${applied.length}` : 'up to date'}`,
    `  API         ${api}/api/v1/products (every route is under /api/v1; see the OpenAPI UI)`,
    `  OpenAPI UI  ${api}/docs`,
    `  health      ${api}/health (api), ${projector}/health (projections)`,
    `  metrics     ${api}/metrics (the whole process; the projections' port serves none)`,
    ...(embedded
      ? [`  tools       DATABASE_URL=${embedded.url} (while this process runs; \`npm run cli\` finds it without)`]
      : []),
  ];
  if (demo) {
    lines.push(
      '',
      `Demo data: ${demo.products} products, and two accounts. Their passwords are shown this once; note them:`,
      `  admin     ${demo.admin.email}  ${demo.admin.password}`,
      `  customer  ${demo.customer.email}  ${demo.customer.password}`,
      `Lost them? Stop this process and run \`npm run demo:reset\` (deletes ${current.database.dataDir}: all data), then start again.`,
    );
  }
  lines.push('', 'Ctrl-C stops it; the data stays for the next start.', '');
  process.stdout.write(`${lines.join('\n')}\n`);
}

/** Where tools (the CLI) find the embedded database while this process runs. */
async function writeEmbeddedDatabaseUrl(dataDir: string, url: string): Promise<void> {
  await writeFile(embeddedDatabaseUrlFile(dataDir), `${url}\n`, { mode: 0o600 });
}

function redacted(url: string): string {
  const parsed = new URL(url);
  if (parsed.password) parsed.password = '***';
  return parsed.toString();
}
