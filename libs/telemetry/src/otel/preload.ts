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
 */
import { register } from 'node:module';
import { FastifyOtelInstrumentation } from '@fastify/otel';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { AmqplibInstrumentation } from '@opentelemetry/instrumentation-amqplib';
import { HttpInstrumentation } from '@opentelemetry/instrumentation-http';
import { NestInstrumentation } from '@opentelemetry/instrumentation-nestjs-core';
import { PgInstrumentation } from '@opentelemetry/instrumentation-pg';
import { NodeSDK } from '@opentelemetry/sdk-node';
import { BatchSpanProcessor, NoopSpanProcessor } from '@opentelemetry/sdk-trace-base';

// Nest 12 is ESM-only: its modules are patched through the ESM loader hook.
register('@opentelemetry/instrumentation/hook.mjs', import.meta.url, {
  data: { include: [/\/node_modules\/@nestjs\/core\//] },
});

/** The published Nest instrumentation stops at <12; the patched code paths are unchanged in 12. */
class Nest12Instrumentation extends NestInstrumentation {
  override init(): ReturnType<NestInstrumentation['init']> {
    const definition = super.init() as unknown as {
      supportedVersions: string[];
      files: Array<{ supportedVersions: string[] }>;
    };
    definition.supportedVersions = ['>=4.0.0 <13'];
    for (const file of definition.files) file.supportedVersions = ['>=4.0.0 <13'];
    return definition as unknown as ReturnType<NestInstrumentation['init']>;
  }
}

const env = process.env;
const app = /projector/.test(process.argv[1] ?? '') ? 'projector' : 'api';
env.OTEL_SERVICE_NAME ??= `emporium-${app}`;
const endpoint = env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT ?? env.OTEL_EXPORTER_OTLP_ENDPOINT;
const IGNORED = new Set(['/metrics', '/health/live', '/health/ready']);

if (env.OTEL_SDK_DISABLED !== 'true') {
  const sdk = new NodeSDK({
    spanProcessors: [endpoint ? new BatchSpanProcessor(new OTLPTraceExporter()) : new NoopSpanProcessor()],
    metricReaders: [],
    logRecordProcessors: [],
    instrumentations: [
      new HttpInstrumentation({
        ignoreIncomingRequestHook: (request) => IGNORED.has((request.url ?? '').split('?')[0]),
      }),
      new FastifyOtelInstrumentation({
        registerOnInitialization: true,
        ignorePaths: (o) => IGNORED.has(o.url.split('?')[0]),
      }),
      new Nest12Instrumentation(),
      new PgInstrumentation({ requireParentSpan: true, ignoreConnectSpans: true }),
      new AmqplibInstrumentation(),
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
