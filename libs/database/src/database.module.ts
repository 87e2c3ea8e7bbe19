import { Module, type DynamicModule } from '@nestjs/common';
import { MikroOrmModule } from '@mikro-orm/nestjs';
import { PostgreSqlDriver } from '@mikro-orm/postgresql';
import { AppConfig } from '@emporium/config';
import { createOrmOptions, type EntityClass } from './orm-options.js';

@Module({})
export class DatabaseModule {
  /** Registers MikroORM for one app. Migrations are never run here (see `npm run migration:up`). */
  static forRoot(entities: EntityClass[], applicationName: string): DynamicModule | Promise<DynamicModule> {
    // MikroORM's core module is global: MikroORM and EntityManager are injectable everywhere.
    return MikroOrmModule.forRootAsync({
      driver: PostgreSqlDriver,
      inject: [AppConfig],
      // No per-request EntityManager context: every handler forks its own, so the middleware forked
      // one per request for nothing (BENCHMARKS.md).
      useFactory: (config: AppConfig) => ({
        ...createOrmOptions(config, entities, applicationName),
        registerRequestContext: false,
      }),
    });
  }
}
