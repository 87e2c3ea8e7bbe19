import { Module, type DynamicModule } from '@nestjs/common';
import { AppConfig, ConfigModule } from '@emporium/config';
import { allEntities, projectionSubscriptions, projectionTypes } from '@emporium/composition';
import { DatabaseModule } from '@emporium/database';
import { EventLogTransport, MessagingModule, ProjectionRunnerModule, RabbitMqTransport } from '@emporium/messaging';
import { HealthModule } from '@emporium/health';
import { loggingModule } from '@emporium/telemetry';
import { ProjectionsController } from './projections.controller.js';

export const TRANSPORT = Symbol('TRANSPORT');

@Module({})
export class ProjectorModule {
  static forRoot(config: AppConfig, transport: RabbitMqTransport | EventLogTransport): DynamicModule {
    return {
      module: ProjectorModule,
      imports: [
        ConfigModule.forRoot(config),
        loggingModule(config, 'emporium-projector'),
        DatabaseModule.forRoot(allEntities, 'emporium-projector'),
        MessagingModule,
        ProjectionRunnerModule.forProjections(projectionTypes),
        HealthModule.forRoot({
          useValue: {
            messaging: {
              check: transport instanceof RabbitMqTransport ? 'broker' : 'event-log-transport',
              connected: () => transport.isConnected,
            },
            projections: projectionSubscriptions,
            outbox: false,
          },
        }),
      ],
      controllers: [ProjectionsController],
    };
  }
}
