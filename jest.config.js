import { readFileSync } from 'node:fs';
import { URL } from 'node:url';

const swc = JSON.parse(readFileSync(new URL('./.swcrc', import.meta.url), 'utf8'));
// Jest resolves @emporium/* itself (moduleNameMapper), so SWC must leave the specifiers alone.
delete swc.jsc.paths;
delete swc.jsc.baseUrl;
swc.module = { type: 'es6' };

const common = {
  extensionsToTreatAsEsm: ['.ts'],
  transform: { '^.+\\.ts$': ['@swc/jest', swc] },
  moduleNameMapper: {
    '^@emporium/(.*)$': '<rootDir>/libs/$1/src/index.ts',
    '^(\\.{1,2}/.*)\\.js$': '$1',
  },
  testEnvironment: 'node',
};

/** @type {import('jest').Config} */
export default {
  projects: [
    {
      ...common,
      displayName: 'unit',
      testMatch: [
        '<rootDir>/libs/**/*.spec.ts',
        '<rootDir>/apps/**/*.spec.ts',
        '<rootDir>/test/architecture/**/*.spec.ts',
      ],
    },
    {
      ...common,
      displayName: 'integration',
      testMatch: ['<rootDir>/test/integration/**/*.int-spec.ts'],
      setupFilesAfterEnv: ['<rootDir>/test/setup/quiet-logs.ts'],
    },
    { ...common, displayName: 'e2e', testMatch: ['<rootDir>/test/e2e/**/*.e2e-spec.ts'] },
    { ...common, displayName: 'security', testMatch: ['<rootDir>/test/security/**/*.security-spec.ts'] },
    // Stops and restarts the shared PostgreSQL and RabbitMQ: run alone (npm run test:chaos).
    { ...common, displayName: 'chaos', testMatch: ['<rootDir>/test/chaos/**/*.chaos-spec.ts'] },
  ],
  testTimeout: 60_000,
};
