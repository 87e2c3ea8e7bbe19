import 'reflect-metadata';
import { Logger, RequestMethod } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import helmet from '@fastify/helmet';
import type { AppConfig } from '@emporium/config';
import { Lifecycle } from '@emporium/telemetry';
import { ApiModule } from './app.module.js';
import { createValidationPipe } from './http/validation.js';
import { buildOpenApiDocument, serveOpenApi } from './openapi.js';

export async function createApiApp(config: AppConfig): Promise<NestFastifyApplication> {
  const adapter = new FastifyAdapter({
    bodyLimit: config.http.bodyLimitBytes,
    requestTimeout: config.http.requestTimeoutMs,
    connectionTimeout: config.http.requestTimeoutMs,
    trustProxy: config.http.trustProxy,
    // Proto-poisoning keys are refused by the JSON parser (400), never merged into objects.
    onProtoPoisoning: 'error',
    onConstructorPoisoning: 'error',
    genReqId: () => crypto.randomUUID(),
  });
  const app = await NestFactory.create<NestFastifyApplication>(ApiModule.forRoot(config), adapter, {
    bufferLogs: false,
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
