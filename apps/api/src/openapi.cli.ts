import 'reflect-metadata';
import { writeFile } from 'node:fs/promises';
import { AppConfig } from '@emporium/config';
import { ensureDatabase } from '@emporium/database';
import { createApiApp } from './bootstrap.js';
import { buildOpenApiDocument } from './openapi.js';

/** `npm run openapi`: regenerates the committed openapi.json from the code. */
const config = AppConfig.fromEnvironment({ ...process.env, RELAY_ENABLED: 'false', LOG_LEVEL: 'silent' });
await ensureDatabase(config);
const app = await createApiApp(config);
await app.init();
await writeFile('openapi.json', `${JSON.stringify(buildOpenApiDocument(app), null, 2)}\n`);
await app.close();
console.log('wrote openapi.json');
