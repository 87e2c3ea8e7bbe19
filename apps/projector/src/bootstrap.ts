import 'reflect-metadata';
import { Logger as NestLogger } from '@nestjs/common';
import { Logger } from 'nestjs-pino';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { requireDatabaseUrl, type AppConfig } from '@emporium/config';
import { EventLogTransport, RabbitMqTransport } from '@emporium/messaging';
import { exitWithin, Lifecycle, recordHttpMetrics } from '@emporium/health';
import { projectionSubscriptions as projections } from '@emporium/composition';
import { ProjectorModule } from './projector.module.js';

/**
 * A hybrid app: the RabbitMQ transport runs the projections; a small HTTP server on
 * PROJECTOR_PORT answers the health probes.
 */
export async function startProjector(
  config: AppConfig,
  { shutdownHooks = true }: { shutdownHooks?: boolean } = {},
): Promise<NestFastifyApplication> {
  const transport = createTransport(config);
  const app = await NestFactory.create<NestFastifyApplication>(
    ProjectorModule.forRoot(config, transport),
    new FastifyAdapter(),
    { logger: config.logLevel === 'silent' ? false : undefined, bufferLogs: true },
  );
  app.useLogger(app.get(Logger));
  recordHttpMetrics(app.getHttpAdapter().getInstance());
  app.connectMicroservice({ strategy: transport }, { inheritAppConfig: true });
  if (shutdownHooks) {
    app.enableShutdownHooks();
    exitWithin(config.shutdownGraceMs);
  }
  await app.startAllMicroservices();
  await app.listen({ port: config.projectorPort, host: config.host });
  app.get(Lifecycle).markReady();
  new NestLogger('Projector').log(
    `projector consuming ${projections.map((p) => p.name).join(', ')} from ${
      transport instanceof RabbitMqTransport ? 'RabbitMQ' : 'event_log (in-process transport)'
    }; health on ${await app.getUrl()}`,
  );
  return app;
}

/** RabbitMQ when AMQP_URL is set; otherwise projections read event_log in this process. */
function createTransport(config: AppConfig): RabbitMqTransport | EventLogTransport {
  const databaseUrl = requireDatabaseUrl(config, 'the projector');
  if (config.amqp.url === undefined) {
    return new EventLogTransport({
      databaseUrl,
      projections,
      retryDelaysMs: config.amqp.retryDelaysMs,
      batchSize: config.relay.batchSize,
      sweepIntervalMs: config.relay.sweepIntervalMs,
    });
  }
  return new RabbitMqTransport({
    url: config.amqp.url,
    exchange: config.amqp.exchange,
    queuePrefix: config.amqp.queuePrefix,
    prefetch: config.amqp.prefetch,
    retryDelaysMs: config.amqp.retryDelaysMs,
    connectionName: 'emporium-projector',
    crashAt: config.crashAt,
    projections,
  });
}
