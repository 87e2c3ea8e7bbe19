import 'reflect-metadata';
import { AppConfig, ConfigError, requireDatabaseUrl } from '@emporium/config';
import { startApi } from './bootstrap.js';

try {
  // The only read of the environment: everything else receives the typed AppConfig.
  const config = AppConfig.fromEnvironment(process.env);
  // Checked before the app is built: inside Nest's module set-up it would be a stack trace.
  requireDatabaseUrl(config, 'the api (`npm run start:api`)');
  await startApi(config);
} catch (error) {
  if (error instanceof ConfigError) {
    console.error(error.message);
    process.exit(78); // EX_CONFIG
  }
  throw error;
}
