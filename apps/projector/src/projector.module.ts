import { Module, type DynamicModule } from '@nestjs/common';
import { AppConfig, ConfigModule } from '@emporium/config';
import { CatalogProjection, catalogEntities, catalogProjectionEvents } from '@emporium/catalog';
import { DatabaseModule } from '@emporium/database';
import { identityEntities } from '@emporium/identity';
import {
  EventLogTransport,
  MessagingModule,
  messagingEntities,
  ProjectionRunnerModule,
  RabbitMqTransport,
} from '@emporium/messaging';
import {
  OrdersProjection,
  orderingEntities,
  ordersProjectionEvents,
  SalesProjection,
  salesProjectionEvents,
} from '@emporium/ordering';
import { HealthModule } from '@emporium/health';
import { loggingModule } from '@emporium/telemetry';
import { ProjectionsController } from './projections.controller.js';

export const projections = [
  { name: 'catalog', eventTypes: catalogProjectionEvents },
  { name: 'orders', eventTypes: ordersProjectionEvents },
  { name: 'sales', eventTypes: salesProjectionEvents },
];

export const TRANSPORT = Symbol('TRANSPORT');

@Module({})
export class ProjectorModule {
  static forRoot(config: AppConfig, transport: RabbitMqTransport | EventLogTransport): DynamicModule {
    return {
      module: ProjectorModule,
      imports: [
        ConfigModule.forRoot(config),
        loggingModule(config, 'emporium-projector'),
        DatabaseModule.forRoot(
          [...messagingEntities, ...identityEntities, ...catalogEntities, ...orderingEntities],
          'emporium-projector',
        ),
        MessagingModule,
        ProjectionRunnerModule.forProjections([CatalogProjection, OrdersProjection, SalesProjection]),
        HealthModule.forRoot({
          useValue: {
            messaging: {
              check: transport instanceof RabbitMqTransport ? 'broker' : 'event-log-transport',
              connected: () => transport.isConnected,
            },
            projections,
            outbox: false,
          },
        }),
      ],
      controllers: [ProjectionsController],
    };
  }
}
