import { readdirSync, readFileSync } from 'node:fs';
import { connect } from 'node:net';
import process from 'node:process';
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
  setupFilesAfterEnv: ['<rootDir>/test/setup/no-unhandled-rejections.ts'],
};

/** Does anything accept TCP connections on 127.0.0.1:`port`? */
const listening = (port) =>
  new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port, timeout: 1000 });
    const done = (up) => {
      socket.destroy();
      resolve(up);
    };
    socket.once('connect', () => done(true));
    socket.once('timeout', () => done(false));
    socket.once('error', () => done(false));
  });

/**
 * Suites whose file starts with `@requires-services` drive the real PostgreSQL and RabbitMQ.
 * Where those are not running, `npm test` runs everything else (the embedded-mode suites need
 * nothing installed) and names the suites it left out. With CI=true nothing is left out: a
 * missing service fails those suites (requireServices), it never skips them.
 */
async function serviceSuitesToSkip() {
  if (process.env.CI === 'true') return [];
  const missing = [];
  if (!(await listening(5432))) missing.push('PostgreSQL on 127.0.0.1:5432');
  if (!(await listening(5672))) missing.push('RabbitMQ on 127.0.0.1:5672');
  if (!(await listening(6379))) missing.push('Redis on 127.0.0.1:6379');
  if (missing.length === 0) return [];
  const suites = readdirSync(new URL('./test', import.meta.url), { recursive: true })
    .filter((file) => /\.(int-spec|e2e-spec|security-spec|chaos-spec)\.ts$/.test(file))
    .filter((file) =>
      readFileSync(new URL(`./test/${file}`, import.meta.url), 'utf8').startsWith('/** @requires-services'),
    )
    .map((file) => `test/${file}`);
  process.stderr.write(
    `\n${missing.join(' and ')} not running: these suites need them and are NOT run (CI=true runs them, and fails):\n` +
      suites.map((s) => `  - ${s}\n`).join('') +
      '\n',
  );
  return suites;
}

const skipped = await serviceSuitesToSkip();
common.testPathIgnorePatterns = ['/node_modules/', ...skipped.map((s) => s.replace(/[.]/g, '\\.'))];

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
      setupFilesAfterEnv: [...common.setupFilesAfterEnv, '<rootDir>/test/setup/quiet-logs.ts'],
    },
    { ...common, displayName: 'e2e', testMatch: ['<rootDir>/test/e2e/**/*.e2e-spec.ts'] },
    { ...common, displayName: 'security', testMatch: ['<rootDir>/test/security/**/*.security-spec.ts'] },
    // Stops and restarts the shared PostgreSQL and RabbitMQ: run alone (npm run test:chaos).
    { ...common, displayName: 'chaos', testMatch: ['<rootDir>/test/chaos/**/*.chaos-spec.ts'] },
  ],
  testTimeout: 60_000,
};
