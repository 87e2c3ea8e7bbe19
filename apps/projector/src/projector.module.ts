import { Module, type DynamicModule, type Type } from '@nestjs/common';
import { AppConfig, ConfigModule } from '@emporium/config';
import { allEntities, subscriptionsOf, webhookSubscription } from '@emporium/composition';
import { DatabaseModule } from '@emporium/database';
import { DomainModule } from '@emporium/domain';
import type { DeliveryServer } from '@emporium/messaging';
import { ProjectionProgressModule, ProjectionRunnerModule, type Projection } from '@emporium/projections';
import { HealthModule } from '@emporium/health';
import { OrderExpiryModule } from '@emporium/ordering';
import { loggingModule } from '@emporium/telemetry';
import { WebhookDeliverer, WebhookDeliveryModule } from '@emporium/webhooks';

@Module({})
export class ProjectorModule {
  static forRoot(
    config: AppConfig,
    server: DeliveryServer,
    projections: ReadonlyArray<Type<Projection>>,
  ): DynamicModule {
    return {
      module: ProjectorModule,
      imports: [
        ConfigModule.forRoot(config),
        loggingModule(config, 'emporium-projector'),
        DatabaseModule.forRoot(allEntities, 'emporium-projector'),
        DomainModule,
        ProjectionProgressModule,
        ProjectionRunnerModule.forProjections(projections),
        OrderExpiryModule,
        WebhookDeliveryModule,
        HealthModule.forRoot({
          inject: [WebhookDeliverer],
          useFactory: (deliverer: WebhookDeliverer) => ({
            messaging: { check: server.healthCheck, connected: () => server.connected },
            projections: [...subscriptionsOf(projections), webhookSubscription],
            outbox: false,
            checks: [{ name: 'webhooks', read: () => deliverer.health() }],
          }),
        }),
      ],
    };
  }
}
