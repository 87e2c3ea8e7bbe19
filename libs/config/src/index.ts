export { AppConfig, ConfigError, embeddedDatabaseUrlFile, requireAmqpUrl, requireDatabaseUrl } from './app-config.js';
export { ConfigModule } from './config.module.js';
export { environmentSchema, type Environment } from './config.schema.js';
