import { Global, Module, type DynamicModule, type Type } from '@nestjs/common';
import { ProjectionProgress } from './projection-progress.js';
import { PROJECTIONS, ProjectionRunner } from './projection-runner.js';
import type { Projection } from './projection.js';

/** Read-your-writes progress, for the api's queries and every app's health checks. */
@Global()
@Module({ providers: [ProjectionProgress], exports: [ProjectionProgress] })
export class ProjectionProgressModule {}

/** The projections themselves and the runner that applies their events (the projector). */
@Module({})
export class ProjectionRunnerModule {
  static forProjections(projections: ReadonlyArray<Type<Projection>>): DynamicModule {
    return {
      module: ProjectionRunnerModule,
      providers: [
        ...projections,
        { provide: PROJECTIONS, useFactory: (...all: Projection[]) => all, inject: [...projections] },
        ProjectionRunner,
      ],
      exports: [ProjectionRunner],
    };
  }
}
