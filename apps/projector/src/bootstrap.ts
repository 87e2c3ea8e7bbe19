import 'reflect-metadata';
import { Logger as NestLogger, type Type } from '@nestjs/common';
import { Logger } from 'nestjs-pino';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import type { AppConfig } from '@emporium/config';
import { deliveryServer } from '@emporium/messaging';
import { ProjectionRunner, type Projection } from '@emporium/projections';
import { exitWithin, Lifecycle, recordHttpMetrics } from '@emporium/health';
import { projectionTypes, subscriptionsOf, webhookSubscription } from '@emporium/composition';
import { WebhookFanOut } from '@emporium/webhooks';
import { ProjectorModule } from './projector.module.js';

/**
 * A hybrid app: the delivery core, as a Nest microservice on the configured transport, feeds
 * every projection of the list its events; a small HTTP server on PROJECTOR_PORT answers the
 * health probes. Each projection is one subscription whose handler is registered from the list,
 * so a projection added to `@emporium/composition` is consumed without another edit here. The
 * webhooks fan-out is one more subscription, and its deliverer runs in this process too.
 */
export async function startProjector(
  config: AppConfig,
  {
    shutdownHooks = true,
    projections = projectionTypes,
    markReady = true,
    metricsAt,
  }: {
    shutdownHooks?: boolean;
    projections?: ReadonlyArray<Type<Projection>>;
    /** `false`: the owner marks the app ready itself. */
    markReady?: boolean;
    /**
     * Where this process's metrics are served instead (the all-in-one's api port): one registry
     * scraped on two ports would count everything twice.
     */
    metricsAt?: string;
  } = {},
): Promise<NestFastifyApplication> {
  const subscriptions = [...subscriptionsOf(projections), webhookSubscription];
  const server = deliveryServer(config, subscriptions);
  const app = await NestFactory.create<NestFastifyApplication>(
    ProjectorModule.forRoot(config, server, projections),
    new FastifyAdapter(),
    { logger: config.logLevel === 'silent' ? false : undefined, bufferLogs: true },
  );
  app.useLogger(app.get(Logger));
  recordHttpMetrics(app.getHttpAdapter().getInstance());
  if (metricsAt !== undefined) {
    app
      .getHttpAdapter()
      .getInstance()
      .addHook('onRequest', async (request, reply) => {
        if (request.url.split('?')[0] !== '/metrics') return;
        return reply
          .status(404)
          .header('content-type', 'text/plain; charset=utf-8')
          .send(`this process's metrics are served once, on the api port: ${metricsAt}\n`);
      });
  }
  const runner = app.get(ProjectionRunner);
  for (const { name } of subscriptionsOf(projections)) server.subscribe(name, (event) => runner.apply(name, event));
  const fanOut = app.get(WebhookFanOut);
  server.subscribe(webhookSubscription.name, (event) => fanOut.handle(event));
  app.connectMicroservice({ strategy: server }, { inheritAppConfig: true });
  if (shutdownHooks) {
    app.enableShutdownHooks();
    exitWithin(config.shutdownGraceMs);
  }
  await app.startAllMicroservices();
  await app.listen({ port: config.projectorPort, host: config.host });
  if (markReady) app.get(Lifecycle).markReady();
  new NestLogger('Projector').log(
    `projector consuming ${subscriptions.map((p) => p.name).join(', ')} from ${
      config.amqp.url === undefined ? 'event_log (in-process transport)' : 'RabbitMQ'
    }; health on ${await app.getUrl()}`,
  );
  return app;
}
