import 'reflect-metadata';
import { AppConfig, ConfigError } from '@emporium/config';
import { startApi } from './bootstrap.js';

try {
  // The only read of the environment: everything else receives the typed AppConfig.
  await startApi(AppConfig.fromEnvironment(process.env));
} catch (error) {
  if (error instanceof ConfigError) {
    console.error(error.message);
    process.exit(78); // EX_CONFIG
  }
  throw error;
}
