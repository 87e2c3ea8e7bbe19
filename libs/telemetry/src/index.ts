export { Lifecycle } from './lifecycle.js';
export { HealthModule } from './health.module.js';
export { HealthChecks, HEALTH_SOURCES, type HealthSources } from './health-checks.js';
