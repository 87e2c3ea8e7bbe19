import { RequestMethod, type DynamicModule } from '@nestjs/common';
import { LoggerModule } from 'nestjs-pino';
import { destination } from 'pino';
import type { AppConfig } from '@emporium/config';
import { activeTraceIds } from './tracing.js';

/**
 * Structured JSON logs (pino): one line per request, `trace_id`/`span_id` on every line written
 * inside a span, secrets redacted, LOG_LEVEL honoured.
 *
 * Lines go to stdout asynchronously: lines logged while a write is in flight go out together in
 * the next one, so under load a request no longer costs a system call of its own for its log
 * line (BENCHMARKS.md). pino flushes what is buffered when the process exits.
 */
export function loggingModule(config: AppConfig, service: string): DynamicModule {
  return LoggerModule.forRoot({
    // nestjs-pino's default route pattern never matches under Nest 12 + Fastify.
    forRoutes: [{ path: '{*splat}', method: RequestMethod.ALL }],
    pinoHttp: [
      {
        level: config.logLevel,
        base: { service },
        messageKey: 'message',
        mixin: () => activeTraceIds(),
        redact: {
          paths: [
            'req.headers.authorization',
            'req.headers.cookie',
            'req.headers["idempotency-key"]',
            'res.headers["set-cookie"]',
            '*.password',
            '*.accessToken',
            '*.token',
            '*.secret',
          ],
          censor: '[redacted]',
        },
        serializers: {
          req: (req: { id: unknown; method: string; url: string }) => ({
            id: req.id,
            method: req.method,
            url: req.url,
          }),
          res: (res: { statusCode: number }) => ({ statusCode: res.statusCode }),
        },
        autoLogging: {
          ignore: (req) =>
            /^\/(metrics|health\/(live|ready))/.test((req as { originalUrl?: string }).originalUrl ?? req.url ?? ''),
        },
      },
      destination({ dest: 1, sync: false }),
    ],
  });
}
