export { tracer, withSpan, currentTraceContext, contextFrom, activeTraceIds, SpanKind } from './tracing.js';
export {
  registry,
  httpDuration,
  handlerCalls,
  handlerDuration,
  relayPublished,
  projectionApplyDuration,
  projectionBatchSize,
  projectionStatements,
  deliveryOutcomes,
  deliverySettleFailures,
  rateLimitRejections,
  scrapedGauge,
} from './metrics.js';
export { Instrumented } from './instrumented.js';
export { loggingModule } from './logging.js';
export { nameHttpSpansByRoute } from './http-route-span.js';
export { tracedHttpServer, UNTRACED_PATHS } from './http-server-span.js';
