import 'reflect-metadata';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AppConfig } from '@emporium/config';
import { ensureDatabase, startEmbeddedDatabase, type EmbeddedDatabase } from '@emporium/database';
import { createApiApp } from './bootstrap.js';
import { buildOpenApiDocument } from './openapi.js';

/**
 * `npm run openapi`: regenerates the committed openapi.json from the code. The app boots against
 * DATABASE_URL, or, when it is unset, a throw-away embedded database.
 */
let config = AppConfig.fromEnvironment({ ...process.env, RELAY_ENABLED: 'false', LOG_LEVEL: 'silent' });
let embedded: EmbeddedDatabase | undefined;
if (config.database.url === undefined) {
  embedded = await startEmbeddedDatabase({
    dataDir: await mkdtemp(join(tmpdir(), 'emporium-openapi-')),
    port: 0,
    maxConnections: 32,
  });
  config = config.withEmbeddedDatabase(embedded.url);
} else {
  await ensureDatabase(config);
}
try {
  const app = await createApiApp(config, { shutdownHooks: false });
  await app.init();
  await writeFile('openapi.json', `${JSON.stringify(buildOpenApiDocument(app), null, 2)}\n`);
  await app.close();
  console.log('wrote openapi.json');
} finally {
  if (embedded) {
    await embedded.close();
    await rm(embedded.dataDir, { recursive: true, force: true });
  }
}
