import 'reflect-metadata';
import { Logger as NestLogger, RequestMethod, type LoggerService } from '@nestjs/common';
import { Logger } from 'nestjs-pino';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import type { AppConfig } from '@emporium/config';
import { exitWithin, Lifecycle, recordHttpMetrics } from '@emporium/health';
import { nameHttpSpansByRoute, tracedHttpServer } from '@emporium/telemetry';
import { ApiModule } from './app.module.js';
import { conditionalGet } from './http/conditional-get.js';
import { acceptJsonOnly } from './http/json-body.js';
import { createValidationPipe } from './http/validation.js';
import { securityHeaders } from './http/security-headers.js';
import { buildOpenApiDocument, serveOpenApi } from './openapi.js';

/**
 * `shutdownHooks: false` when another process owner drains it (the all-in-one process closes
 * its apps and the embedded database in order).
 */
export interface StartOptions {
  shutdownHooks?: boolean;
  /** `false`: the owner marks the app ready itself (the all-in-one, once the demo data is visible). */
  markReady?: boolean;
}

export async function createApiApp(
  config: AppConfig,
  { shutdownHooks = true }: StartOptions = {},
): Promise<NestFastifyApplication> {
  const adapter = new FastifyAdapter({
    bodyLimit: config.http.bodyLimitBytes,
    requestTimeout: config.http.requestTimeoutMs,
    connectionTimeout: config.http.requestTimeoutMs,
    // Fastify accepts a hop count at run time; its type omits it.
    trustProxy: config.http.trustProxy as string | false,
    // Long enough for any id; longer segments reach the id pipe and get a 404, not a 414.
    routerOptions: { maxParamLength: 500 },
    // While closing, finish what arrives on open connections instead of answering 503: a request
    // the server accepted is served; idle keep-alive connections are closed so clients reconnect.
    return503OnClosing: false,
    forceCloseConnections: 'idle',
    genReqId: () => crypto.randomUUID(),
    // The HTTP server span is started here, around each request (no-op when tracing is off).
    serverFactory: tracedHttpServer,
  });
  const app = await NestFactory.create<NestFastifyApplication>(ApiModule.forRoot(config), adapter, {
    bufferLogs: true,
    // Our own JSON parser (acceptJsonOnly) replaces Nest's.
    bodyParser: false,
    logger: config.logLevel === 'silent' ? false : undefined,
  });
  app.useLogger(new WithoutControllerPrefixLines(app.get(Logger)));
  recordHttpMetrics(app.getHttpAdapter().getInstance());
  nameHttpSpansByRoute(app.getHttpAdapter().getInstance());
  app.setGlobalPrefix('api/v1', {
    exclude: [
      { path: 'metrics', method: RequestMethod.GET },
      { path: 'health', method: RequestMethod.GET },
      { path: 'health/live', method: RequestMethod.GET },
      { path: 'health/ready', method: RequestMethod.GET },
    ],
  });
  app.useGlobalPipes(createValidationPipe());
  conditionalGet(app.getHttpAdapter().getInstance());
  acceptJsonOnly(app.getHttpAdapter().getInstance(), config.http.bodyLimitBytes);
  securityHeaders(app.getHttpAdapter().getInstance(), {
    // The API answers JSON: nothing may run. Only the OpenAPI UI below gets a looser policy.
    contentSecurityPolicy: {
      directives: { defaultSrc: ["'self'"], scriptSrc: ["'self'"], frameAncestors: ["'none'"], objectSrc: ["'none'"] },
    },
    strictTransportSecurity: { maxAge: 31_536_000, includeSubDomains: true },
  });
  // The UI's page links its assets relative to `/docs`: every other spelling of the page is sent there.
  app
    .getHttpAdapter()
    .getInstance()
    .addHook('onRequest', async (request, reply) => {
      const [path, query] = request.url.split('?', 2);
      if (path === '/docs/' || path === '/docs/index.html') {
        return reply.redirect(query === undefined ? '/docs' : `/docs?${query}`, 301);
      }
    });
  app
    .getHttpAdapter()
    .getInstance()
    .addHook('onSend', async (request, reply) => {
      if (request.url.startsWith('/docs')) {
        void reply.header(
          'content-security-policy',
          "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; frame-ancestors 'none'",
        );
      }
    });
  // Browsers may call the API only from the configured origins; never a wildcard with credentials.
  app.enableCors(
    config.http.corsOrigins.length
      ? {
          origin: config.http.corsOrigins,
          credentials: true,
          methods: ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'],
          allowedHeaders: [
            'authorization',
            'content-type',
            'idempotency-key',
            'if-match',
            'if-none-match',
            'x-min-position',
            'x-correlation-id',
            // An EventSource reconnecting to GET /orders/stream sends it.
            'last-event-id',
          ],
          exposedHeaders: ['retry-after', 'idempotent-replayed', 'location', 'x-min-position', 'etag'],
          maxAge: 600,
        }
      : { origin: false },
  );
  if (shutdownHooks) {
    app.enableShutdownHooks();
    exitWithin(config.shutdownGraceMs);
  }
  serveOpenApi(app, buildOpenApiDocument(app));
  return app;
}

/**
 * Nest logs each controller once with its path under the global prefix ("HealthController
 * {/api/v1/health}"), even for the routes excluded from it; the per-route lines that follow
 * ("Mapped {/health, GET}") are the true ones, so the controller lines are left out.
 */
class WithoutControllerPrefixLines implements LoggerService {
  constructor(private readonly inner: LoggerService) {}

  log(message: unknown, ...rest: unknown[]): void {
    if (rest.at(-1) === 'RoutesResolver') return;
    this.inner.log(message, ...rest);
  }
  error(message: unknown, ...rest: unknown[]): void {
    this.inner.error(message, ...rest);
  }
  warn(message: unknown, ...rest: unknown[]): void {
    this.inner.warn(message, ...rest);
  }
  debug(message: unknown, ...rest: unknown[]): void {
    this.inner.debug?.(message, ...rest);
  }
  verbose(message: unknown, ...rest: unknown[]): void {
    this.inner.verbose?.(message, ...rest);
  }
  fatal(message: unknown, ...rest: unknown[]): void {
    this.inner.fatal?.(message, ...rest);
  }
}

export async function startApi(config: AppConfig, options: StartOptions = {}): Promise<NestFastifyApplication> {
  const app = await createApiApp(config, options);
  await app.listen({ port: config.port, host: config.host });
  if (options.markReady !== false) app.get(Lifecycle).markReady();
  for (const warning of config.warnings) new NestLogger('Config').warn(warning);
  const url = await app.getUrl();
  new NestLogger('Api').log(
    `api listening on ${url}: ${url}/api/v1/products, docs ${url}/docs, health ${url}/health, metrics ${url}/metrics`,
  );
  return app;
}
