import 'reflect-metadata';
import { Logger, RequestMethod } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import type { AppConfig } from '@emporium/config';
import { Lifecycle } from '@emporium/telemetry';
import { ApiModule } from './app.module.js';
import { createValidationPipe } from './http/validation.js';
import { buildOpenApiDocument, serveOpenApi } from './openapi.js';

export const BODY_LIMIT_BYTES = 1024 * 1024;

export async function createApiApp(config: AppConfig): Promise<NestFastifyApplication> {
  const adapter = new FastifyAdapter({
    bodyLimit: BODY_LIMIT_BYTES,
    requestTimeout: 30_000,
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
