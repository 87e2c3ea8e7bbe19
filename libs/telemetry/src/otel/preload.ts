/**
 * OpenTelemetry, started before anything else is imported:
 *   node --import ./dist/libs/telemetry/src/otel/preload.js dist/apps/api/src/main.js
 * Instrumentations patch modules as they load, so Nest, Fastify, pg and amqplib must not be
 * imported before this runs, or their spans silently vanish.
 *
 * Standard variables: OTEL_EXPORTER_OTLP_ENDPOINT (or OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) turns
 * export on (OTLP over HTTP, batched); OTEL_SERVICE_NAME names the service (default: by app);
 * OTEL_SDK_DISABLED=true turns tracing off. Without an endpoint spans are still created (trace ids
 * in logs and event metadata) but nothing is exported and nothing is logged per span.
 *
 * Spans per request: the HTTP server span (started by the api's server, tracedHttpServer, and
 * named by route: nameHttpSpansByRoute), the command span (queries have none: see Instrumented),
 * one per SQL statement and broker publish; in the projector, one consumer span per delivery and
 * projection (the delivery core's) whose transaction's statements are events, not spans. The http, Fastify and Nest instrumentations are
 * not loaded. The http one bound every request's and response's emitters to the span's context
 * (BENCHMARKS.md). The Fastify and Nest ones added three to
 * four spans per request that repeated the HTTP span's timing (docs/adr/0009-observability.md,
 * BENCHMARKS.md).
 */
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { AmqplibInstrumentation } from '@opentelemetry/instrumentation-amqplib';
import { PgInstrumentation } from '@opentelemetry/instrumentation-pg';
import { NodeSDK } from '@opentelemetry/sdk-node';
import { BatchSpanProcessor, NoopSpanProcessor } from '@opentelemetry/sdk-trace-base';

const env = process.env;
const app = /projector/.test(process.argv[1] ?? '') ? 'projector' : 'api';
env.OTEL_SERVICE_NAME ??= `emporium-${app}`;
const endpoint = env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT ?? env.OTEL_EXPORTER_OTLP_ENDPOINT;

if (env.OTEL_SDK_DISABLED !== 'true') {
  const sdk = new NodeSDK({
    spanProcessors: [endpoint ? new BatchSpanProcessor(new OTLPTraceExporter()) : new NoopSpanProcessor()],
    metricReaders: [],
    logRecordProcessors: [],
    instrumentations: [
      new PgInstrumentation({ requireParentSpan: true, ignoreConnectSpans: true }),
      // Publish spans of the relay. The projector's consumer span is the delivery core's own, one
      // per delivery and projection; amqplib's would repeat it for every message.
      ...(app === 'projector' ? [] : [new AmqplibInstrumentation()]),
    ],
  });
  sdk.start();
  // Flush what is batched when the process ends; never let a dead collector delay or crash exit.
  const flush = (): void => {
    void Promise.race([sdk.shutdown(), new Promise((resolve) => setTimeout(resolve, 2000).unref())]).catch(
      () => undefined,
    );
  };
  process.once('beforeExit', flush);
  globalThis.__emporiumOtelShutdown = () =>
    Promise.race([sdk.shutdown(), new Promise<void>((resolve) => setTimeout(resolve, 2000).unref())]).catch(
      () => undefined,
    );
}

declare global {
  var __emporiumOtelShutdown: (() => Promise<void>) | undefined;
}
