import { Module, type DynamicModule, type OnApplicationShutdown, type Provider, type Type } from '@nestjs/common';
import { SetMetadata } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import { HealthChecks, HEALTH_SOURCES, type HealthSources } from './health-checks.js';
import { HealthController, PUBLIC_ROUTE } from './health.controller.js';
import { MetricsController } from './metrics.controller.js';
import { Lifecycle } from './lifecycle.js';

// Health routes are public: probes carry no token.
SetMetadata(PUBLIC_ROUTE, true)(HealthController);
SetMetadata(PUBLIC_ROUTE, true)(MetricsController);

@Module({})
export class HealthModule implements OnApplicationShutdown {
  constructor(private readonly checks: HealthChecks) {}

  static forRoot(
    sources:
      | { useValue: HealthSources }
      | { useFactory: (...deps: never[]) => HealthSources; inject: Array<Type<unknown> | symbol> },
  ): DynamicModule {
    return {
      module: HealthModule,
      global: true,
      imports: [TerminusModule.forRoot({ errorLogStyle: 'pretty' })],
      controllers: [HealthController, MetricsController],
      providers: [Lifecycle, HealthChecks, { provide: HEALTH_SOURCES, ...sources } as Provider],
      exports: [Lifecycle],
    };
  }

  async onApplicationShutdown(): Promise<void> {
    await this.checks.close();
    // Export the spans of the drain period too (Nest re-raises the signal; no exit hook would run).
    await globalThis.__emporiumOtelShutdown?.();
  }
}
