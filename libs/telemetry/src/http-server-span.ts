import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { context, propagation, ROOT_CONTEXT, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import type { FastifyServerOptions } from 'fastify';
import { tracer } from './tracing.js';

/** Probes and scrapes: no span (they would drown the traces that matter). */
export const UNTRACED_PATHS: ReadonlySet<string> = new Set(['/metrics', '/health/live', '/health/ready']);

type Handler = (request: IncomingMessage, response: ServerResponse) => void;

/**
 * A Fastify `serverFactory` that starts the HTTP server span where Node hands over the request,
 * and runs the whole request (Fastify, Nest, the handler, the response) inside it:
 *
 * - the parent is the caller's W3C `traceparent`, if any;
 * - the span is named `METHOD` here and `METHOD /route/:template` once routed
 *   (`nameHttpSpansByRoute`); it ends when the response is finished or the connection closes
 *   first (an aborted request is an error), with the status code; 5xx is an error, 4xx is not
 *   (the semantic conventions' rule for server spans);
 * - one `context.with` per request. The OpenTelemetry http instrumentation, which this replaces,
 *   also binds the request's and response's emitters to the context (seven methods wrapped on each
 *   object, every request), a cost measured in BENCHMARKS.md (ADR 0009).
 *   Body chunks still see the span: Node emits them in the request's async context.
 *
 * Fastify applies its timeout options only to servers it creates, so they are applied here
 * (`keepAliveTimeout`, `requestTimeout`, `connectionTimeout`, `maxRequestsPerSocket`). Plain HTTP/1
 * only: `https`, `http2` and `http` options are not honoured, and with a `serverFactory` Fastify
 * does not add the second (IPv6) listener it binds for `localhost`.
 */
export function tracedHttpServer(handler: Handler, options: FastifyServerOptions): Server {
  const server = createServer((request, response) => {
    const path = pathOf(request.url);
    if (UNTRACED_PATHS.has(path)) return handler(request, response);
    const parent = propagation.extract(ROOT_CONTEXT, request.headers);
    const span = tracer.startSpan(
      request.method ?? 'HTTP',
      {
        kind: SpanKind.SERVER,
        attributes: {
          'http.request.method': request.method,
          'url.path': path,
          'network.protocol.version': request.httpVersion,
          'user_agent.original': request.headers['user-agent'],
        },
      },
      parent,
    );
    // The response's 'close' ends it; the socket's too, for a pipelined request still queued
    // behind another when the client goes away (its response never closes).
    const socket = request.socket;
    let ended = false;
    const end = (): void => {
      if (ended) return;
      ended = true;
      socket.off('close', end);
      if (response.headersSent) span.setAttribute('http.response.status_code', response.statusCode);
      if (!response.writableFinished) {
        span.setStatus({ code: SpanStatusCode.ERROR, message: 'connection closed before the response was sent' });
      } else if (response.statusCode >= 500) {
        span.setStatus({ code: SpanStatusCode.ERROR });
      }
      span.end();
    };
    response.once('close', end);
    socket.once('close', end);
    context.with(trace.setSpan(parent, span), handler, undefined, request, response);
  });
  if (options.keepAliveTimeout !== undefined) server.keepAliveTimeout = options.keepAliveTimeout;
  if (options.requestTimeout !== undefined) server.requestTimeout = options.requestTimeout;
  if (options.connectionTimeout !== undefined) server.setTimeout(options.connectionTimeout);
  if (options.maxRequestsPerSocket) server.maxRequestsPerSocket = options.maxRequestsPerSocket;
  return server;
}

function pathOf(url: string | undefined): string {
  if (url === undefined) return '/';
  const query = url.indexOf('?');
  return query === -1 ? url : url.slice(0, query);
}
