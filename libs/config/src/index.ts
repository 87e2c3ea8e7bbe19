export { AppConfig, ConfigError, embeddedDatabaseUrlFile, requireAmqpUrl, requireDatabaseUrl } from './app-config.js';
export { ConfigModule } from './config.module.js';
export { environmentSchema, parseDuration, type Environment } from './config.schema.js';
