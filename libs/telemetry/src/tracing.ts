import {
  context,
  propagation,
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  trace,
  type Attributes,
  type Context,
  type Link,
  type Span,
} from '@opentelemetry/api';

/** Libraries depend on the OpenTelemetry API only; the SDK is started by the preload (or not). */
export const tracer = trace.getTracer('emporium');

export { SpanKind };

/** Runs `work` in a new active span; records the outcome and ends it. */
export async function withSpan<T>(
  name: string,
  options: { kind?: SpanKind; attributes?: Attributes; parent?: Context; links?: Link[] },
  work: (span: Span) => Promise<T>,
): Promise<T> {
  const parent = options.parent ?? context.active();
  return tracer.startActiveSpan(
    name,
    { kind: options.kind, attributes: options.attributes, links: options.links },
    parent,
    async (span) => {
      try {
        const result = await work(span);
        span.setStatus({ code: SpanStatusCode.OK });
        return result;
      } catch (error) {
        span.recordException(error as Error);
        span.setStatus({ code: SpanStatusCode.ERROR, message: (error as Error).message });
        throw error;
      } finally {
        span.end();
      }
    },
  );
}

/** The W3C trace context of the active span, to store with events written in this request. */
export function currentTraceContext(): { traceparent?: string; tracestate?: string } {
  const carrier: Record<string, string> = {};
  propagation.inject(context.active(), carrier);
  return { traceparent: carrier.traceparent, tracestate: carrier.tracestate };
}

/** A context whose parent is the stored traceparent: the relay and projector continue the request's trace. */
export function contextFrom(carrier: Record<string, unknown> | object | undefined): Context {
  const c = carrier as { traceparent?: unknown; tracestate?: unknown } | undefined;
  const headers: Record<string, string> = {};
  if (typeof c?.traceparent === 'string') headers.traceparent = c.traceparent;
  if (typeof c?.tracestate === 'string') headers.tracestate = c.tracestate;
  return propagation.extract(ROOT_CONTEXT, headers);
}

export function activeTraceIds(): { trace_id: string; span_id: string } | Record<string, never> {
  const spanContext = trace.getActiveSpan()?.spanContext();
  return spanContext && spanContext.traceId !== '00000000000000000000000000000000'
    ? { trace_id: spanContext.traceId, span_id: spanContext.spanId }
    : {};
}
