import 'reflect-metadata';
import { readFile } from 'node:fs/promises';
import { Logger } from '@nestjs/common';
import { MikroORM } from '@mikro-orm/postgresql';
import { SingleBar } from 'cli-progress';
import { Command } from 'commander';
import pg from 'pg';
import { allEntities, createProjections, deliverySubscriptions } from '@emporium/composition';
import { AppConfig, ConfigError, embeddedDatabaseUrlFile } from '@emporium/config';
import { createOrmOptions, unreachableDatabase } from '@emporium/database';
import { ProjectionRebuild, ProjectionRunner } from '@emporium/projections';
import { WebhookOperations } from '@emporium/webhooks';
import { Operations } from './operations.js';
import { formatTable } from './table.js';

/**
 * `npm run cli -- <command>`: what an on-call engineer does to the running system.
 * Every state-changing action is logged, one line each, with a timestamp.
 */
// Stdout carries the command's output (tables, --json); the libraries' own logs stay out of it.
Logger.overrideLogger(['error']);

let config: AppConfig;
/** Where the database URL came from, for messages. */
let source = 'DATABASE_URL';
try {
  config = AppConfig.fromEnvironment(process.env);
  if (config.database.url === undefined) {
    // No DATABASE_URL: the embedded system started by `npm start` in DATA_DIR, if it runs.
    const file = embeddedDatabaseUrlFile(config.database.dataDir);
    const url = (await readFile(file, 'utf8').catch(() => '')).trim();
    if (!url) {
      console.error(
        `DATABASE_URL is not set and no embedded system is running in DATA_DIR (${config.database.dataDir}): ` +
          'start it with `npm start` (in this directory, or with the same DATA_DIR), or set DATABASE_URL to a PostgreSQL server',
      );
      process.exit(69); // EX_UNAVAILABLE
    }
    config = config.withEmbeddedDatabase(url);
    source = `${file}, written by \`npm start\``;
  }
} catch (error) {
  if (error instanceof ConfigError) {
    console.error(error.message);
    process.exit(78);
  }
  throw error;
}
const log = (line: string): void => console.log(`${new Date().toISOString()} ${line}`);
const operations = new Operations(config, deliverySubscriptions, log);

/** A command's rows: JSON for scripts (`--json`), an aligned table for people. */
const print = (rows: readonly object[], options: { json?: boolean }): void =>
  console.log(options.json ? JSON.stringify(rows) : formatTable(rows));

const program = new Command('emporium')
  .description('Operate Emporium: projections, dead letters and webhooks')
  .showHelpAfterError();

const projectionsCommand = program.command('projections').description('projection progress');
projectionsCommand
  .command('status')
  .description('applied and head positions, lag and dead-letter depth per projection')
  .option('--json', 'machine-readable output')
  .action(async (options: { json?: boolean }) => {
    const rows = await operations.status();
    print(rows, options);
  });

projectionsCommand
  .command('rebuild')
  .description('rebuild a projection from event_log beside the live one, then swap (queries keep answering)')
  .argument('<projection>')
  .action(async (name: string) => {
    const rebuildable = createProjections().map((p) => p.name);
    if (!rebuildable.includes(name)) {
      // Other subscriptions (webhooks) keep no read model: there is nothing to rebuild.
      throw new Error(`"${name}" has no read model to rebuild: one of ${rebuildable.join(', ')}`);
    }
    const orm = await MikroORM.init(createOrmOptions(config, allEntities, 'emporium-cli'));
    const runner = new ProjectionRunner(orm, createProjections());
    const started = Date.now();
    const bar = process.stdout.isTTY
      ? new SingleBar({ format: `${name} [{bar}] {value}/{total} events | {rate}/s | ETA {eta_formatted}` })
      : undefined;
    let lastLine = 0;
    try {
      const { events } = await new ProjectionRebuild(orm, runner).rebuild(name, (applied, total) => {
        const rate = Math.round(applied / Math.max(0.001, (Date.now() - started) / 1000));
        if (bar) {
          if (applied === 0) bar.start(total, 0, { rate });
          else bar.update(applied, { rate });
          bar.setTotal(total);
        } else if (applied === total || Date.now() - lastLine > 1000) {
          lastLine = Date.now();
          const eta = rate > 0 ? Math.round((total - applied) / rate) : 0;
          console.log(`${new Date().toISOString()} ${name}: ${applied}/${total} events, ${rate}/s, ETA ${eta} s`);
        }
      });
      bar?.stop();
      console.log(`${new Date().toISOString()} rebuilt ${name} from ${events} events and swapped it in`);
    } finally {
      bar?.stop();
      await orm.close();
    }
  });

const dlq = program.command('dlq').description("a projection's dead-letter queue");
dlq
  .command('list')
  .argument('<projection>')
  .option('--json', 'machine-readable output')
  .action(async (projection: string, options: { json?: boolean }) => {
    const letters = await operations.list(projection);
    print(
      letters.map(({ body: _body, headers: _headers, ...summary }) => summary),
      options,
    );
  });
dlq
  .command('show')
  .argument('<projection>')
  .argument('<messageId>')
  .action(async (projection: string, messageId: string) => {
    const letter = (await operations.list(projection)).find((l) => l.messageId === messageId);
    if (!letter) throw new Error(`no dead letter with messageId ${messageId}`);
    console.log(JSON.stringify(letter, null, 2));
  });
dlq
  .command('replay')
  .description('send dead letters back to the projection (attempts reset); by messageId or --all')
  .argument('<projection>')
  .argument('[messageId]')
  .option('--all', 'every dead letter of the projection')
  .action(async (projection: string, messageId: string | undefined, options: { all?: boolean }) => {
    if (!messageId && !options.all) throw new Error('give a messageId, or --all');
    console.log(`replayed ${await operations.replay(projection, options.all ? undefined : messageId)}`);
  });
dlq
  .command('discard')
  .description('delete dead letters; by messageId or --all')
  .argument('<projection>')
  .argument('[messageId]')
  .option('--all', 'every dead letter of the projection')
  .action(async (projection: string, messageId: string | undefined, options: { all?: boolean }) => {
    if (!messageId && !options.all) throw new Error('give a messageId, or --all');
    console.log(`discarded ${await operations.discard(projection, options.all ? undefined : messageId)}`);
  });

/** Runs `work` with the webhook operations on a connection of its own. */
async function withWebhooks<T>(work: (webhooks: WebhookOperations) => Promise<T>): Promise<T> {
  const db = new pg.Client({
    connectionString: config.database.url,
    application_name: 'emporium-cli',
  });
  await db.connect();
  try {
    return await work(new WebhookOperations(db));
  } finally {
    await db.end();
  }
}

const webhooks = program.command('webhooks').description('outgoing webhook endpoints and their dead deliveries');
webhooks
  .command('list')
  .description('endpoints with their status and deliveries pending, delivered and dead')
  .option('--json', 'machine-readable output')
  .action(async (options: { json?: boolean }) => {
    const rows = await withWebhooks((w) => w.endpoints());
    print(rows, options);
  });
webhooks
  .command('dead')
  .description("an endpoint's deliveries that exhausted their retries")
  .argument('<webhookId>')
  .option('--json', 'machine-readable output')
  .action(async (id: string, options: { json?: boolean }) => {
    const rows = await withWebhooks((w) => w.dead(id));
    print(rows, options);
  });
webhooks
  .command('replay')
  .description('send dead deliveries again (attempts reset, in position order); by eventId or --all')
  .argument('<webhookId>')
  .argument('[eventId]')
  .option('--all', 'every dead delivery of the endpoint')
  .action(async (id: string, eventId: string | undefined, options: { all?: boolean }) => {
    if (!eventId && !options.all) throw new Error('give an eventId, or --all');
    const replayed = await withWebhooks((w) => w.replay(id, options.all ? undefined : eventId));
    for (const d of replayed) log(`replayed ${d.eventId} (${d.type}) to webhook ${id}: ${d.lastError ?? ''}`);
    console.log(`replayed ${replayed.length}`);
  });
webhooks
  .command('enable')
  .description('enable a disabled endpoint again (it gets events from now on)')
  .argument('<webhookId>')
  .action(async (id: string) => {
    await withWebhooks((w) => w.enable(id));
    log(`enabled webhook ${id}`);
  });

try {
  await program.parseAsync(process.argv);
  await operations.close();
} catch (error) {
  const unreachable = unreachableDatabase(error, config);
  if (unreachable) {
    console.error(
      source === 'DATABASE_URL'
        ? unreachable
        : `cannot reach the embedded database at ${config.database.url ?? ''} (from ${source}; ` +
            `${(error as { code?: string }).code ?? 'error'}): is \`npm start\` still running? Start it again, or set DATABASE_URL.`,
    );
    process.exit(69);
  }
  console.error(`error: ${(error as Error).message}`);
  process.exit(1);
}
