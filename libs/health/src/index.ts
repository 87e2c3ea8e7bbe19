export { Lifecycle } from './lifecycle.js';
export { HealthModule } from './health.module.js';
export { HealthChecks, HEALTH_SOURCES, type HealthSources } from './health-checks.js';
export { recordHttpMetrics } from './http-metrics.js';
export { exitWithin } from './shutdown.js';
