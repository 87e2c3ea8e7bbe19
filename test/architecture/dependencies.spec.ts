import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

/** Which libs each lib may import. Bounded contexts depend on the platform, never on apps. */
const ALLOWED: Record<string, string[]> = {
  contracts: [],
  config: [],
  database: ['config'],
  telemetry: ['config'],
  domain: ['config', 'contracts', 'database'],
  projections: ['config', 'contracts', 'database', 'domain', 'telemetry'],
  messaging: ['config', 'contracts', 'database', 'domain', 'telemetry'],
  // Bounded contexts never depend on the delivery machinery (amqplib, transports).
  identity: ['config', 'contracts', 'database', 'domain', 'telemetry'],
  catalog: ['config', 'contracts', 'database', 'domain', 'projections', 'telemetry'],
  ordering: ['config', 'contracts', 'database', 'domain', 'projections', 'catalog', 'telemetry'],
  health: ['config', 'messaging', 'projections', 'telemetry'],
  webhooks: ['config', 'contracts', 'database', 'domain', 'messaging', 'projections', 'telemetry'],
  composition: ['domain', 'projections', 'identity', 'catalog', 'ordering', 'webhooks'],
  testing: [
    'config',
    'contracts',
    'database',
    'domain',
    'projections',
    'messaging',
    'identity',
    'catalog',
    'ordering',
    'health',
    'telemetry',
    'composition',
    'webhooks',
  ],
};

function tsFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return tsFiles(path);
    return path.endsWith('.ts') ? [path] : [];
  });
}

function imports(file: string): string[] {
  const source = readFileSync(file, 'utf8');
  return [...source.matchAll(/(?:^|\n)\s*(?:import|export)[^'"]*?from\s+['"]([^'"]+)['"]/g)].map((m) => m[1]);
}

const owner = (file: string): { kind: string; name: string } => {
  const [kind, name] = relative(ROOT, file).split('/');
  return { kind, name };
};

describe('module boundaries', () => {
  const files = [...tsFiles(join(ROOT, 'libs')), ...tsFiles(join(ROOT, 'apps'))];

  it('declares every lib in the dependency rules', () => {
    const libs = readdirSync(join(ROOT, 'libs'));
    expect(libs.sort()).toEqual(Object.keys(ALLOWED).sort());
  });

  it('imports other libs only through their index, and only in the allowed direction', () => {
    const violations: string[] = [];
    for (const file of files) {
      const from = owner(file);
      for (const specifier of imports(file)) {
        const where = `${relative(ROOT, file)} imports ${specifier}`;
        const lib = /^@emporium\/([^/]+)(\/.*)?$/.exec(specifier);
        if (lib) {
          if (lib[2]) violations.push(`${where}: deep import (use @emporium/${lib[1]})`);
          // A lib's own tests may use the test builders; its code may not.
          const testOfLib = file.endsWith('.spec.ts') && lib[1] === 'testing';
          if (from.kind === 'libs' && lib[1] !== from.name && !ALLOWED[from.name]?.includes(lib[1]) && !testOfLib) {
            violations.push(`${where}: ${from.name} may not depend on ${lib[1]}`);
          }
          if (from.kind === 'libs' && lib[1] === from.name) violations.push(`${where}: a lib importing its own index`);
        }
        if (specifier.startsWith('.')) {
          const target = owner(resolve(dirname(file), specifier));
          const composesApps = from.kind === 'apps' && from.name === 'all-in-one' && target.kind === 'apps';
          if ((target.kind !== from.kind || target.name !== from.name) && !composesApps) {
            violations.push(`${where}: relative import out of ${from.kind}/${from.name}`);
          }
        }
      }
    }
    expect(violations).toEqual([]);
  });

  it('keeps the broker client in the delivery lib: the domain, projections and contexts never load amqplib', () => {
    const brokerAware = new Set(['messaging', 'testing']);
    const offenders = files
      .filter((file) => owner(file).kind === 'libs' && !brokerAware.has(owner(file).name))
      .filter((file) => imports(file).some((specifier) => specifier === 'amqplib'))
      .map((file) => relative(ROOT, file));
    expect(offenders).toEqual([]);
    for (const lib of ['domain', 'projections', 'identity', 'catalog', 'ordering', 'contracts']) {
      expect({ lib, messaging: ALLOWED[lib].includes('messaging') }).toEqual({ lib, messaging: false });
    }
  });

  it('keeps process.env out of everything but the entry points', () => {
    const readers = files
      .filter((file) => /process\.env/.test(readFileSync(file, 'utf8').replace(/\/\/.*|\/\*[\s\S]*?\*\//g, '')))
      .map((file) => relative(ROOT, file))
      .filter(
        (file) =>
          !/^apps\/[^/]+\/src\/(main|openapi\.cli)\.ts$/.test(file) &&
          !file.startsWith('libs/testing/') &&
          // Runs before anything else (node --import), so before the configuration exists.
          file !== 'libs/telemetry/src/otel/preload.ts',
      );
    expect(readers).toEqual([]);
  });
});
