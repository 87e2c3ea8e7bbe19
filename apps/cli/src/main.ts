import { Command } from 'commander';
import { catalogProjectionEvents } from '@emporium/catalog';
import { AppConfig, ConfigError } from '@emporium/config';
import { ordersProjectionEvents, salesProjectionEvents } from '@emporium/ordering';
import { Operations } from './operations.js';

/**
 * `npm run cli -- <command>`: what an on-call engineer does to the running system.
 * Every state-changing action is logged, one line each, with a timestamp.
 */
const projections = [
  { name: 'catalog', eventTypes: catalogProjectionEvents },
  { name: 'orders', eventTypes: ordersProjectionEvents },
  { name: 'sales', eventTypes: salesProjectionEvents },
];

let config: AppConfig;
try {
  config = AppConfig.fromEnvironment(process.env);
} catch (error) {
  if (error instanceof ConfigError) {
    console.error(error.message);
    process.exit(78);
  }
  throw error;
}
const operations = new Operations(config, projections, (line) => console.log(`${new Date().toISOString()} ${line}`));

const program = new Command('emporium')
  .description('Operate Emporium: projections and dead letters')
  .showHelpAfterError();

const projectionsCommand = program.command('projections').description('projection progress');
projectionsCommand
  .command('status')
  .description('applied and head positions, lag and dead-letter depth per projection')
  .option('--json', 'machine-readable output')
  .action(async (options: { json?: boolean }) => {
    const rows = await operations.status();
    if (options.json) console.log(JSON.stringify(rows));
    else console.table(rows);
  });

const dlq = program.command('dlq').description("a projection's dead-letter queue");
dlq
  .command('list')
  .argument('<projection>')
  .option('--json', 'machine-readable output')
  .action(async (projection: string, options: { json?: boolean }) => {
    const letters = await operations.deadLetters(projection);
    if (options.json)
      console.log(JSON.stringify(letters.map(({ body: _body, headers: _headers, ...summary }) => summary)));
    else console.table(letters.map(({ body: _body, headers: _headers, ...summary }) => summary));
  });
dlq
  .command('show')
  .argument('<projection>')
  .argument('<messageId>')
  .action(async (projection: string, messageId: string) => {
    const letter = (await operations.deadLetters(projection)).find((l) => l.messageId === messageId);
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

try {
  await program.parseAsync(process.argv);
} catch (error) {
  console.error(`error: ${(error as Error).message}`);
  process.exit(1);
}
