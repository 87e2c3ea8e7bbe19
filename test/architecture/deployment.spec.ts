import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { AppConfig } from '@emporium/config';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

interface ComposeService {
  image?: string;
  build?: unknown;
  command?: string[];
  environment?: Record<string, string>;
  depends_on?: Record<string, { condition: string }>;
  healthcheck?: { test: string[] };
}

describe('deployment files', () => {
  const compose = parse(readFileSync(`${ROOT}docker-compose.yml`, 'utf8'), { merge: true }) as {
    services: Record<string, ComposeService>;
  };
  const apps = ['migrate', 'api', 'projector'];

  it('has PostgreSQL, RabbitMQ with its management UI, a one-shot migration job, api and projector', () => {
    expect(Object.keys(compose.services).sort()).toEqual(['api', 'migrate', 'postgres', 'projector', 'rabbitmq']);
    expect(compose.services.rabbitmq.image).toMatch(/management/);
    expect(compose.services.migrate.command).toEqual(['node', 'dist/apps/migrate/src/main.js', 'up']);
    for (const app of ['api', 'projector']) {
      expect(compose.services[app].depends_on).toMatchObject({
        migrate: { condition: 'service_completed_successfully' },
      });
      expect(compose.services[app].healthcheck?.test.join(' ')).toMatch(/health\/ready/);
    }
  });

  it('sets only variables the configuration schema knows', () => {
    const known = new Set(AppConfig.knownVariables());
    const unknown = apps.flatMap((app) =>
      Object.keys(compose.services[app].environment ?? {})
        .filter((name) => !known.has(name) && !name.startsWith('OTEL_'))
        .map((name) => `${app}: ${name}`),
    );
    expect(unknown).toEqual([]);
  });

  it('gives every app a configuration the schema accepts in production', () => {
    for (const app of apps) {
      const env = Object.fromEntries(
        Object.entries(compose.services[app].environment ?? {}).map(([k, v]) => [
          k,
          String(v).replace(/\$\{([A-Z_]+)[^}]*\}/g, (_, name: string) =>
            name.includes('PASSWORD')
              ? 'a-password-long-enough'
              : name === 'JWT_SECRET'
                ? 'x'.repeat(40)
                : name === 'ADMIN_EMAIL'
                  ? 'admin@example.com'
                  : 'x',
          ),
        ]),
      );
      expect(() => AppConfig.fromEnvironment(env)).not.toThrow();
    }
  });

  it('runs the image as a non-root user on a current LTS Node', () => {
    const dockerfile = readFileSync(`${ROOT}Dockerfile`, 'utf8');
    expect(dockerfile).toMatch(/^FROM node:(22|24)-/m);
    expect(dockerfile).toMatch(/^USER node$/m);
    expect(dockerfile.match(/^FROM /gm)?.length).toBeGreaterThanOrEqual(2);
  });
});
