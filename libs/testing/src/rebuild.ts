import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MikroORM } from '@mikro-orm/postgresql';
import pg from 'pg';
import { AppConfig } from '@emporium/config';
import type { EventEnvelope } from '@emporium/contracts';
import {
  createOrmOptions,
  ensureDatabase,
  migrateUp,
  startEmbeddedDatabase,
  type EmbeddedDatabase,
} from '@emporium/database';
import { ProjectionRunner, type Projection } from '@emporium/projections';
import { allEntities, createProjections } from '@emporium/composition';
import { SERVICE_URLS } from './services.js';

/** Events copied per statement and applied per transaction. */
const CHUNK = 500;

const READ_MODELS: Record<string, string> = {
  read_catalog_products: 'id',
  read_catalog_categories: 'key',
  read_orders: 'id',
  read_sales_daily: 'day, product_id',
};

export interface RebuildReport {
  events: number;
  /** Per read model: rows that differ between the live table and the rebuild. */
  differences: Record<string, { live: unknown[]; rebuilt: unknown[] }>;
  /** Events applied more than once by a projection (should be none). */
  doubleApplied: number;
  /** Events a projection subscribes to but never applied (should be none once quiet). */
  missing: Array<{ projection: string; eventId: string }>;
}

async function tables(client: pg.Client): Promise<Record<string, unknown[]>> {
  const out: Record<string, unknown[]> = {};
  for (const [table, key] of Object.entries(READ_MODELS)) {
    out[table] = (await client.query(`select * from ${table} order by ${key}`)).rows.map(
      (row: Record<string, unknown>) => {
        delete row.search; // derived from the other columns
        return JSON.parse(JSON.stringify(row)) as unknown;
      },
    );
  }
  return out;
}

async function unapplied(live: pg.Client, projections: Projection[]): Promise<RebuildReport['missing']> {
  const missing: RebuildReport['missing'] = [];
  for (const projection of projections) {
    const { rows } = await live.query<{ id: string }>(
      `select e.id from event_log e where e.type = any($1)
         and not exists (select 1 from projection_inbox i where i.projection = $2 and i.event_id = e.id)`,
      [projection.eventTypes, projection.name],
    );
    missing.push(...rows.map((r) => ({ projection: projection.name, eventId: r.id })));
  }
  return missing;
}

/**
 * Events some projection subscribes to and has not applied yet: cheap enough to poll until it
 * is empty before the (expensive) compareWithRebuild.
 */
export async function unappliedEvents(liveDatabaseUrl: string): Promise<RebuildReport['missing']> {
  const live = new pg.Client({ connectionString: liveDatabaseUrl });
  await live.connect();
  try {
    return await unapplied(live, createProjections());
  } finally {
    await live.end();
  }
}

/**
 * The invariant every reliability check ends with: rebuilding every projection from `event_log`
 * alone, into a scratch database, gives exactly the live read models; and no event was applied
 * twice or skipped.
 */
export async function compareWithRebuild(
  liveDatabaseUrl: string,
  { scratch: where = 'server' }: { scratch?: 'server' | 'embedded' } = {},
): Promise<RebuildReport> {
  const scratchName = `emporium_rebuild_${crypto.randomUUID().replace(/-/g, '').slice(0, 12)}`;
  // The rebuild goes into a database of its own: on the test server, or an embedded one (for a
  // system under test that runs on the embedded database, with no server on the machine).
  let embedded: EmbeddedDatabase | undefined;
  let config: AppConfig;
  if (where === 'embedded') {
    const dataDir = await mkdtemp(join(tmpdir(), 'emporium-rebuild-'));
    embedded = await startEmbeddedDatabase({ dataDir, port: 0, maxConnections: 16 });
    config = AppConfig.fromEnvironment({ NODE_ENV: 'test' }).withEmbeddedDatabase(embedded.url);
  } else {
    config = AppConfig.fromEnvironment({
      NODE_ENV: 'test',
      DATABASE_URL: `postgresql://postgres@127.0.0.1:5432/${scratchName}`,
    });
    await ensureDatabase(config);
    // A scratch copy: its commits need not wait for the disk (it is dropped at the end anyway).
    const admin = new pg.Client({ connectionString: SERVICE_URLS.postgres });
    await admin.connect();
    await admin.query(`alter database "${scratchName}" set synchronous_commit = off`).finally(() => admin.end());
  }
  await migrateUp(config, allEntities);
  const live = new pg.Client({ connectionString: liveDatabaseUrl });
  const scratch = new pg.Client({ connectionString: config.database.url });
  await live.connect();
  await scratch.connect();
  const orm = await MikroORM.init(createOrmOptions(config, allEntities));
  try {
    const projections: Projection[] = createProjections();
    const { rows: events } = await live.query<Record<string, unknown>>('select * from event_log order by position');
    const columns = [
      'position',
      'id',
      'type',
      'schema_version',
      'aggregate_type',
      'aggregate_id',
      'aggregate_version',
      'occurred_at',
      'payload',
      'metadata',
    ];
    for (let from = 0; from < events.length; from += CHUNK) {
      const chunk = events.slice(from, from + CHUNK);
      const values = chunk.map(
        (_, row) => `(${columns.map((_c, column) => `$${row * columns.length + column + 1}`).join(', ')}, now())`,
      );
      await scratch.query(
        `insert into event_log (${columns.join(', ')}, published_at) values ${values.join(', ')}`,
        chunk.flatMap((e) => columns.map((c) => e[c])),
      );
    }
    // Each projection in position order, as a fresh projector would, a chunk of events per
    // transaction (the runner's steps, inbox and version order, are those of one event per
    // transaction); the projections side by side, as they share no rows.
    const runner = new ProjectionRunner(orm, projections);
    await Promise.all(
      projections.map(async (projection) => {
        const subscribed = events.filter((e) => projection.eventTypes.includes(e.type as never));
        for (let from = 0; from < subscribed.length; from += CHUNK) {
          await orm.em.fork().transactional(async (em) => {
            const db = em.getKysely();
            for (const e of subscribed.slice(from, from + CHUNK)) {
              // One event at a time: an oracle independent of how live deliveries were batched.
              const envelope = { id: e.id, type: e.type, aggregateId: e.aggregate_id } as EventEnvelope;
              await runner.applyWithin(db, projection.name, [envelope]);
            }
          });
        }
      }),
    );
    const [liveTables, rebuiltTables] = [await tables(live), await tables(scratch)];
    const differences: RebuildReport['differences'] = {};
    for (const table of Object.keys(READ_MODELS)) {
      const a = liveTables[table].map((r) => JSON.stringify(r));
      const b = rebuiltTables[table].map((r) => JSON.stringify(r));
      const [inA, inB] = [new Set(a), new Set(b)];
      const onlyLive = a.filter((r) => !inB.has(r));
      const onlyRebuilt = b.filter((r) => !inA.has(r));
      if (onlyLive.length || onlyRebuilt.length) {
        differences[table] = {
          live: onlyLive.map((r) => JSON.parse(r) as unknown),
          rebuilt: onlyRebuilt.map((r) => JSON.parse(r) as unknown),
        };
      }
    }
    const { rows: doubles } = await live.query<{ n: string }>(
      'select count(*) as n from (select projection, event_id from projection_inbox group by 1, 2 having count(*) > 1) d',
    );
    const missing = await unapplied(live, projections);
    return { events: events.length, differences, doubleApplied: Number(doubles[0].n), missing };
  } finally {
    await orm.close();
    await live.end();
    await scratch.end();
    if (embedded) {
      await embedded.close();
      await rm(embedded.dataDir, { recursive: true, force: true });
    } else {
      const admin = new pg.Client({ connectionString: SERVICE_URLS.postgres });
      await admin.connect();
      await admin.query(`drop database if exists "${scratchName}" with (force)`);
      await admin.end();
    }
  }
}
