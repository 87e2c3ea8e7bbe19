import { connect } from 'node:net';
import { once } from 'node:events';
import { SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { NodeSDK } from '@opentelemetry/sdk-node';
import { InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import Fastify, { type FastifyInstance } from 'fastify';
import { nameHttpSpansByRoute } from './http-route-span.js';
import { tracedHttpServer } from './http-server-span.js';

describe('tracedHttpServer (the HTTP server span)', () => {
  const exporter = new InMemorySpanExporter();
  const sdk = new NodeSDK({ spanProcessors: [new SimpleSpanProcessor(exporter)], instrumentations: [] });
  let app: FastifyInstance;
  let base: string;
  const seenInHandler: Array<string | undefined> = [];
  const deferred = () => {
    let resolve!: () => void;
    const promise = new Promise<void>((r) => (resolve = r));
    return { promise, resolve };
  };
  const slow = { entered: deferred(), release: deferred() };

  beforeAll(async () => {
    sdk.start();
    app = Fastify({ serverFactory: tracedHttpServer, keepAliveTimeout: 1234 });
    nameHttpSpansByRoute(app);
    app.post('/orders/:id', async (request) => {
      // The body has been read by now: the request's context (and span) survived its chunks.
      seenInHandler.push(trace.getActiveSpan()?.spanContext().spanId);
      return { got: request.body };
    });
    app.get('/boom', async () => {
      throw new Error('boom');
    });
    app.get('/slow', async () => {
      slow.entered.resolve();
      await slow.release.promise;
      return { late: true };
    });
    app.get('/health/ready', async () => ({ status: 'ok' }));
    base = await app.listen({ port: 0, host: '127.0.0.1' });
  });

  afterAll(async () => {
    await app.close();
    await sdk.shutdown();
  });

  beforeEach(() => exporter.reset());

  const finished = async (count: number): Promise<ReadableSpan[]> => {
    const deadline = Date.now() + 5000;
    while (exporter.getFinishedSpans().length < count) {
      if (Date.now() > deadline)
        throw new Error(`expected ${count} span(s), got ${exporter.getFinishedSpans().length}`);
      await new Promise((resolve) => setImmediate(resolve));
    }
    return exporter.getFinishedSpans();
  };

  it('continues the caller trace, is named by route and records the status; the handler runs inside it', async () => {
    const traceId = '0af7651916cd43dd8448eb211c80319c';
    const res = await fetch(`${base}/orders/42?x=1`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', traceparent: `00-${traceId}-b7ad6b7169203331-01` },
      body: JSON.stringify({ big: 'x'.repeat(200_000) }),
    });
    expect(res.status).toBe(200);
    const [span] = await finished(1);
    expect(span.name).toBe('POST /orders/:id');
    expect(span.kind).toBe(SpanKind.SERVER);
    expect(span.spanContext().traceId).toBe(traceId);
    expect(span.parentSpanContext?.spanId).toBe('b7ad6b7169203331');
    expect(span.attributes).toMatchObject({
      'http.request.method': 'POST',
      'url.path': '/orders/42',
      'http.route': '/orders/:id',
      'http.response.status_code': 200,
    });
    expect(span.status.code).not.toBe(SpanStatusCode.ERROR);
    expect(seenInHandler.at(-1)).toBe(span.spanContext().spanId);
  });

  it('marks a 5xx answer as an error', async () => {
    expect((await fetch(`${base}/boom`)).status).toBe(500);
    const [span] = await finished(1);
    expect(span.attributes['http.response.status_code']).toBe(500);
    expect(span.status.code).toBe(SpanStatusCode.ERROR);
  });

  it('ends the span as an error when the client goes away before the answer', async () => {
    const socket = connect(Number(new URL(base).port), '127.0.0.1');
    await once(socket, 'connect');
    socket.write('GET /slow HTTP/1.1\r\nhost: x\r\n\r\n');
    await slow.entered.promise;
    socket.destroy();
    const [span] = await finished(1);
    slow.release.resolve();
    expect(span.status).toEqual({ code: SpanStatusCode.ERROR, message: expect.stringMatching(/closed before/) });
  });

  it('ends the span of a pipelined request still queued when the client goes away', async () => {
    slow.entered = deferred();
    slow.release = deferred();
    const socket = connect(Number(new URL(base).port), '127.0.0.1');
    await once(socket, 'connect');
    socket.write('GET /slow HTTP/1.1\r\nhost: x\r\n\r\nGET /slow HTTP/1.1\r\nhost: x\r\n\r\n');
    await slow.entered.promise;
    socket.destroy();
    const spans = await finished(2);
    slow.release.resolve();
    expect(spans.map((s) => s.status.code)).toEqual([SpanStatusCode.ERROR, SpanStatusCode.ERROR]);
    expect(spans.every((s) => s.attributes['http.response.status_code'] === undefined)).toBe(true);
  });

  it('leaves health probes untraced and keeps Fastify timeouts', async () => {
    expect((await fetch(`${base}/health/ready`)).status).toBe(200);
    expect(
      (await fetch(`${base}/orders/1`, { method: 'POST', body: '{}', headers: { 'content-type': 'application/json' } }))
        .status,
    ).toBe(200);
    const spans = await finished(1);
    expect(spans.map((s) => s.name)).toEqual(['POST /orders/:id']);
    expect(app.server.keepAliveTimeout).toBe(1234);
  });
});
