/** @requires-services PostgreSQL RabbitMQ (see jest.config.js) */
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import {
  allEntities,
  httpClient,
  isolatedEnvironment,
  poll,
  requireServices,
  startApp,
  type IsolatedEnvironment,
  type RunningApp,
} from '@emporium/testing';

interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind: number;
  attributes: Array<{ key: string; value: { stringValue?: string; intValue?: number } }>;
  links?: Array<{ traceId: string; spanId: string }>;
  events?: Array<{ name: string }>;
  service: string;
}

const attribute = (span: OtlpSpan, key: string): string | number | undefined => {
  const value = span.attributes.find((a) => a.key === key)?.value;
  return value?.stringValue ?? value?.intValue;
};

/** A minimal OTLP/HTTP (JSON) collector in the test process: what the real exporter sends. */
async function otlpReceiver(): Promise<{ server: Server; url: string; spans: OtlpSpan[] }> {
  const spans: OtlpSpan[] = [];
  const server = createServer((request, response) => {
    let body = '';
    request.on('data', (chunk: Buffer) => (body += chunk.toString()));
    request.on('end', () => {
      if (request.url === '/v1/traces') {
        const payload = JSON.parse(body) as {
          resourceSpans: Array<{
            resource: { attributes: OtlpSpan['attributes'] };
            scopeSpans: Array<{ spans: Array<Omit<OtlpSpan, 'service'>> }>;
          }>;
        };
        for (const resource of payload.resourceSpans) {
          const service = resource.resource.attributes.find((a) => a.key === 'service.name')?.value.stringValue ?? '?';
          for (const scope of resource.scopeSpans) for (const span of scope.spans) spans.push({ ...span, service });
        }
      }
      response.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  return { server, url: `http://127.0.0.1:${port}`, spans };
}

describe('observability', () => {
  let env: IsolatedEnvironment;
  let receiver: Awaited<ReturnType<typeof otlpReceiver>>;
  let api: RunningApp;
  let projector: RunningApp;
  const ADMIN = { email: 'admin@example.com', password: 'staff-passphrase-for-tests' };

  beforeAll(async () => {
    await requireServices();
    env = await isolatedEnvironment('otel', allEntities);
    receiver = await otlpReceiver();
    const appEnv = {
      ...env.env,
      ADMIN_EMAIL: ADMIN.email,
      ADMIN_PASSWORD: ADMIN.password,
      LOG_LEVEL: 'info',
      OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
      OTEL_BSP_SCHEDULE_DELAY: '100',
    };
    [api, projector] = await Promise.all([startApp('api', appEnv), startApp('projector', appEnv)]);
  });

  afterAll(async () => {
    await api?.stop();
    await projector?.stop();
    receiver?.server.close();
    await env?.dispose();
  });

  it('follows one order from the HTTP request through the outbox and RabbitMQ into every projection, in one trace', async () => {
    const http = httpClient(api.url);
    const admin = (await http('POST', '/api/v1/auth/login', { body: ADMIN })).body.accessToken as string;
    const product = await http('POST', '/api/v1/products', {
      token: admin,
      body: { sku: 'OTEL-1', name: 'Instrumented', category: 'otel', priceCents: 100, currency: 'EUR', stock: 5 },
    });
    await http('POST', '/api/v1/auth/register', {
      body: { email: 'tracer@example.com', password: 'plenty-long-passphrase', name: 'T' },
    });
    const customer = (
      await http('POST', '/api/v1/auth/login', {
        body: { email: 'tracer@example.com', password: 'plenty-long-passphrase' },
      })
    ).body.accessToken as string;
    const traceId = 'a1b2c3d4e5f60718293a4b5c6d7e8f90';
    const order = await http('POST', '/api/v1/orders', {
      token: customer,
      body: { lines: [{ productId: product.body.id, quantity: 1 }] },
      headers: { traceparent: `00-${traceId}-1111111111111111-01` },
    });
    expect(order.status).toBe(201);

    const inTrace = () => receiver.spans.filter((s) => s.traceId === traceId);
    // Spans arrive in batches from two processes, in any order: wait until every expected one is in.
    const expectations: Record<string, (spans: OtlpSpan[]) => boolean> = {
      "http server span, child of the caller's span, named by route, with the status": (spans) =>
        spans.some(
          (s) =>
            s.service === 'emporium-api' &&
            s.kind === 2 &&
            s.name === 'POST /api/v1/orders' &&
            s.parentSpanId === '1111111111111111' &&
            attribute(s, 'http.route') === '/api/v1/orders' &&
            Number(attribute(s, 'http.response.status_code')) === 201,
        ),
      'command span': (spans) =>
        spans.some((s) => s.name === 'command PlaceOrder' && attribute(s, 'emporium.aggregate.id') === order.body.id),
      // The command's transaction is its span, with an event per round trip instead of a span per statement.
      'command statements as span events': (spans) =>
        spans.some(
          (s) =>
            s.name === 'command PlaceOrder' &&
            // The locking read, then one round trip with the rows, the events and the commit.
            ['sql select products', 'sql insert orders; update products; insert event_log; commit'].every((step) =>
              s.events?.some((e) => e.name === step),
            ),
        ),
      'no span per SQL statement in the command': (spans) =>
        !spans.some((s) => s.service === 'emporium-api' && s.name.startsWith('pg.query')),
      'rabbitmq publish span': (spans) =>
        spans.some((s) => s.service === 'emporium-api' && s.kind === 4 && /publish/.test(s.name)),
      'consumer span of the delivery, with the messaging attributes': (spans) =>
        spans.some(
          (s) =>
            s.service === 'emporium-projector' &&
            s.kind === 5 &&
            attribute(s, 'messaging.system') === 'rabbitmq' &&
            attribute(s, 'messaging.operation.type') === 'process' &&
            /\.orders$/.test(String(attribute(s, 'messaging.destination.name'))),
        ),
      ...Object.fromEntries(
        ['catalog', 'orders', 'sales'].map((projection) => [
          `project ${projection} span`,
          (spans: OtlpSpan[]) =>
            spans.some(
              (s) =>
                s.service === 'emporium-projector' &&
                s.name === `project ${projection}` &&
                attribute(s, 'emporium.event.type') !== undefined,
            ),
        ]),
      ),
      // A projection's transaction is one span (the delivery's, or its batch's, linked to the
      // request) with an event per step instead of a span per statement.
      'projection transaction steps as span events': () =>
        receiver.spans.some(
          (s) =>
            s.service === 'emporium-projector' &&
            ((s.name === 'project orders' && s.traceId === traceId) ||
              (s.name === 'project batch' && s.links?.some((l) => l.traceId === traceId))) &&
            ['load events, lock streams', 'advance streams, record inbox', 'commit'].every((step) =>
              s.events?.some((e) => e.name === step),
            ),
        ),
      'no span per SQL statement in the projector': () =>
        !receiver.spans.some((s) => s.service === 'emporium-projector' && s.name.startsWith('pg.query')),
      // The relay's batch span (its own trace) is linked to the request's trace.
      'relay batch span linked to the request': () =>
        receiver.spans.some((s) => s.name === 'relay publish batch' && s.links?.some((l) => l.traceId === traceId)),
    };
    const missing = () =>
      Object.entries(expectations)
        .filter(([, present]) => !present(inTrace()))
        .map(([name]) => name);
    await poll(
      async () => missing(),
      (m) => m.length === 0,
      { timeoutMs: 20_000, what: 'every span of the order in one trace' },
    );
    expect(missing()).toEqual([]);

    // The api's log line for that request carries the trace id.
    const lines = api
      .output()
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as { trace_id?: string; req?: { url: string }; res?: { statusCode: number } });
    expect(
      lines.some((l) => l.trace_id === traceId && l.req?.url === '/api/v1/orders' && l.res?.statusCode === 201),
    ).toBe(true);
    expect(api.output()).not.toMatch(/Bearer ey|plenty-long-passphrase/);

    // A read: the server span, named by route, with its SQL span as a direct child.
    const readTraceId = 'b1c2d3e4f5a60718293a4b5c6d7e8f90';
    const read = await http('GET', `/api/v1/products/${product.body.id}`, {
      headers: { traceparent: `00-${readTraceId}-2222222222222222-01` },
    });
    expect(read.status).toBe(200);
    const readSpans = await poll(
      async () => receiver.spans.filter((s) => s.traceId === readTraceId),
      (spans) => spans.some((s) => s.kind === 2) && spans.some((s) => s.name.startsWith('pg.query')),
      { timeoutMs: 20_000, what: 'the read request and its SQL span' },
    );
    const server = readSpans.find((s) => s.kind === 2)!;
    expect(server.name).toBe('GET /api/v1/products/:id');
    expect(server.parentSpanId).toBe('2222222222222222');
    expect(readSpans.find((s) => s.name.startsWith('pg.query'))!.parentSpanId).toBe(server.spanId);
  });

  it('counts requests, commands and projection work in /metrics on both apps', async () => {
    const metrics = await (await fetch(`${api.url}/metrics`)).text();
    expect(metrics).toMatch(
      /emporium_http_request_duration_seconds_count\{method="POST",route="\/api\/v1\/orders",status="201"\} 1\n/,
    );
    expect(metrics).toMatch(/emporium_handler_calls_total\{kind="command",type="PlaceOrder",outcome="ok"\} 1\n/);
    expect(metrics).toMatch(/emporium_outbox_backlog \d+/);
    expect(metrics).toMatch(/emporium_projection_lag_events\{projection="orders"\} \d+/);
    expect(metrics).toMatch(/emporium_projection_lag_positions\{projection="catalog"\} \d+/);
    expect(metrics).toMatch(/emporium_dead_letters\{projection="sales"\} 0/);
    const projectorMetrics = await (await fetch(`${projector.url}/metrics`)).text();
    expect(projectorMetrics).toMatch(
      /emporium_projection_apply_duration_seconds_count\{projection="orders",outcome="applied"\} [1-9]/,
    );
  });
});
