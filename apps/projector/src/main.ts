import 'reflect-metadata';
import { AppConfig, ConfigError } from '@emporium/config';
import { startProjector } from './bootstrap.js';

try {
  await startProjector(AppConfig.fromEnvironment(process.env));
} catch (error) {
  if (error instanceof ConfigError) {
    console.error(error.message);
    process.exit(78);
  }
  throw error;
}
