import 'reflect-metadata';
import { Logger, RequestMethod } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import helmet from '@fastify/helmet';
import type { AppConfig } from '@emporium/config';
import { Lifecycle } from '@emporium/telemetry';
import { ApiModule } from './app.module.js';
import { acceptJsonOnly } from './http/json-body.js';
import { createValidationPipe } from './http/validation.js';
import { buildOpenApiDocument, serveOpenApi } from './openapi.js';

export async function createApiApp(config: AppConfig): Promise<NestFastifyApplication> {
  const adapter = new FastifyAdapter({
    bodyLimit: config.http.bodyLimitBytes,
    requestTimeout: config.http.requestTimeoutMs,
    connectionTimeout: config.http.requestTimeoutMs,
    trustProxy: config.http.trustProxy,
    // Long enough for any id; longer segments reach the id pipe and get a 404, not a 414.
    routerOptions: { maxParamLength: 500 },
    genReqId: () => crypto.randomUUID(),
  });
  const app = await NestFactory.create<NestFastifyApplication>(ApiModule.forRoot(config), adapter, {
    bufferLogs: false,
    // Our own JSON parser (acceptJsonOnly) replaces Nest's.
    bodyParser: false,
    logger: config.logLevel === 'silent' ? false : undefined,
  });
  app.setGlobalPrefix('api/v1', {
    exclude: [
      { path: 'health', method: RequestMethod.GET },
      { path: 'health/live', method: RequestMethod.GET },
      { path: 'health/ready', method: RequestMethod.GET },
    ],
  });
  app.useGlobalPipes(createValidationPipe());
  acceptJsonOnly(app.getHttpAdapter().getInstance(), config.http.bodyLimitBytes);
  await app.register(helmet, {
    // The API answers JSON; only the OpenAPI UI at /docs needs scripts and styles of its own.
    contentSecurityPolicy: {
      directives: {
        defaultSrc: ["'self'"],
        scriptSrc: ["'self'", "'unsafe-inline'"],
        styleSrc: ["'self'", "'unsafe-inline'"],
        imgSrc: ["'self'", 'data:'],
        frameAncestors: ["'none'"],
      },
    },
    strictTransportSecurity: { maxAge: 31_536_000, includeSubDomains: true },
  });
  // Browsers may call the API only from the configured origins; never a wildcard with credentials.
  app.enableCors(
    config.http.corsOrigins.length
      ? {
          origin: config.http.corsOrigins,
          credentials: true,
          methods: ['GET', 'POST', 'PUT', 'PATCH'],
          allowedHeaders: [
            'authorization',
            'content-type',
            'idempotency-key',
            'if-match',
            'x-min-position',
            'x-correlation-id',
          ],
          exposedHeaders: ['retry-after', 'idempotent-replayed'],
          maxAge: 600,
        }
      : { origin: false },
  );
  app.enableShutdownHooks();
  serveOpenApi(app, buildOpenApiDocument(app));
  return app;
}

export async function startApi(config: AppConfig): Promise<NestFastifyApplication> {
  const app = await createApiApp(config);
  await app.listen({ port: config.port, host: config.host });
  app.get(Lifecycle).markReady();
  for (const warning of config.warnings) new Logger('Config').warn(warning);
  new Logger('Api').log(`api listening on ${await app.getUrl()} (docs at /docs, health at /health)`);
  return app;
}
