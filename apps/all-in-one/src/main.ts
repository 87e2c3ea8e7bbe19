import 'reflect-metadata';
import { AppConfig, ConfigError } from '@emporium/config';
import { startApi } from '../../api/src/bootstrap.js';
import { startProjector } from '../../projector/src/bootstrap.js';

/** `npm start`: the api (with the relay) and the projector in one process, on their two ports. */
try {
  const config = AppConfig.fromEnvironment(process.env);
  await startApi(config);
  await startProjector(config);
} catch (error) {
  if (error instanceof ConfigError) {
    console.error(error.message);
    process.exit(78);
  }
  throw error;
}
