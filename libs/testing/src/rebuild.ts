import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MikroORM } from '@mikro-orm/postgresql';
import pg from 'pg';
import { createProjections } from '@emporium/composition';
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
import { allEntities } from './entities.js';
import { SERVICE_URLS } from './services.js';

const READ_MODELS: Record<string, string> = {
  read_catalog_products: 'id',
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
    for (const e of events) {
      await scratch.query(
        `insert into event_log (position, id, type, schema_version, aggregate_type, aggregate_id, aggregate_version,
           occurred_at, payload, metadata, published_at) values ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,now())`,
        [
          e.position,
          e.id,
          e.type,
          e.schema_version,
          e.aggregate_type,
          e.aggregate_id,
          e.aggregate_version,
          e.occurred_at,
          e.payload,
          e.metadata,
        ],
      );
    }
    const runner = new ProjectionRunner(orm, projections);
    for (const e of events) {
      const envelope = {
        id: e.id,
        type: e.type,
        aggregateId: e.aggregate_id,
      } as EventEnvelope;
      for (const projection of projections) {
        if (projection.eventTypes.includes(envelope.type as never)) {
          // One event per transaction: an oracle independent of how live deliveries were batched.
          await runner.applyInTransaction(projection.name, [envelope]);
        }
      }
    }
    const [liveTables, rebuiltTables] = [await tables(live), await tables(scratch)];
    const differences: RebuildReport['differences'] = {};
    for (const table of Object.keys(READ_MODELS)) {
      const a = liveTables[table].map((r) => JSON.stringify(r));
      const b = rebuiltTables[table].map((r) => JSON.stringify(r));
      const onlyLive = a.filter((r) => !b.includes(r));
      const onlyRebuilt = b.filter((r) => !a.includes(r));
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
    const missing: RebuildReport['missing'] = [];
    for (const projection of projections) {
      const { rows } = await live.query<{ id: string }>(
        `select e.id from event_log e where e.type = any($1)
           and not exists (select 1 from projection_inbox i where i.projection = $2 and i.event_id = e.id)`,
        [projection.eventTypes, projection.name],
      );
      missing.push(...rows.map((r) => ({ projection: projection.name, eventId: r.id })));
    }
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
