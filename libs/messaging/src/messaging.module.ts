import { Global, Module, type DynamicModule, type Type } from '@nestjs/common';
import { OutboxRelay, PROJECTION_SUBSCRIPTIONS, type ProjectionSubscription } from './relay/outbox-relay.js';
import { ProjectionProgress } from './projection/projection-progress.js';
import { PROJECTIONS, ProjectionRunner } from './projection/projection-runner.js';
import type { Projection } from './projection/projection.js';
import { UnitOfWork } from './write/unit-of-work.js';

/** The write side's unit of work and read-your-writes progress: used by every context. */
@Global()
@Module({ providers: [UnitOfWork, ProjectionProgress], exports: [UnitOfWork, ProjectionProgress] })
export class MessagingModule {}

/** The outbox relay; imported by the api process (one replica holds the lock and publishes). */
@Global()
@Module({})
export class RelayModule {
  static forRoot(subscriptions: ProjectionSubscription[]): DynamicModule {
    return {
      module: RelayModule,
      providers: [{ provide: PROJECTION_SUBSCRIPTIONS, useValue: subscriptions }, OutboxRelay],
      exports: [OutboxRelay],
    };
  }
}

@Module({})
export class ProjectionRunnerModule {
  static forProjections(projections: Type<Projection>[]): DynamicModule {
    return {
      module: ProjectionRunnerModule,
      providers: [
        ...projections,
        { provide: PROJECTIONS, useFactory: (...all: Projection[]) => all, inject: projections },
        ProjectionRunner,
      ],
      exports: [ProjectionRunner],
    };
  }
}
