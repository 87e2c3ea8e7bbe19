import { Module, type DynamicModule } from '@nestjs/common';
import { APP_FILTER, APP_GUARD } from '@nestjs/core';
import { CqrsModule } from '@nestjs/cqrs';
import { PassportModule } from '@nestjs/passport';
import { AppConfig, ConfigModule } from '@emporium/config';
import { CatalogModule } from '@emporium/catalog';
import { allEntities, deliverySubscriptions } from '@emporium/composition';
import { DatabaseModule } from '@emporium/database';
import { IdentityModule } from '@emporium/identity';
import { DomainModule } from '@emporium/domain';
import { liveFeed, OutboxRelay, RelayModule } from '@emporium/messaging';
import { ProjectionProgressModule } from '@emporium/projections';
import { OrderingModule, OrderStreamModule } from '@emporium/ordering';
import { HealthModule } from '@emporium/health';
import { loggingModule } from '@emporium/telemetry';
import { WebhooksModule } from '@emporium/webhooks';
import { JwtAuthGuard, RolesGuard } from './auth/auth.guards.js';
import { JwtStrategy } from './auth/jwt.strategy.js';
import { ProblemFilter } from './http/problem.filter.js';
import { RATE_LIMIT_STORE, RateLimitGuard, RateLimitModule } from './http/rate-limit.js';
import type { RateLimitStore } from './http/rate-limit-store.js';
import { CatalogCacheModule } from './catalog/catalog-cache.module.js';
import { CatalogInvalidation } from './catalog/catalog-invalidation.js';
import { apiControllers } from './controllers.js';

function redisHealth(store: RateLimitStore): Record<string, unknown> {
  const { connected, lastError } = store.state();
  return connected ? { use: 'rate limits' } : { use: 'rate limits', degraded: true, failOpen: true, lastError };
}

@Module({})
export class ApiModule {
  static forRoot(config: AppConfig): DynamicModule {
    // With a broker the api runs the relay; without one the projector reads event_log itself.
    const relay = config.amqp.url !== undefined;
    return {
      module: ApiModule,
      imports: [
        ConfigModule.forRoot(config),
        loggingModule(config, 'emporium-api'),
        DatabaseModule.forRoot(allEntities, 'emporium-api'),
        CqrsModule.forRoot(),
        PassportModule,
        RateLimitModule.forRoot(config),
        DomainModule,
        ProjectionProgressModule,
        ...(relay ? [RelayModule.forRoot(deliverySubscriptions)] : []),
        IdentityModule,
        CatalogModule,
        OrderingModule,
        WebhooksModule,
        OrderStreamModule.forRoot({ useFactory: () => liveFeed(config, 'the api') }),
        CatalogCacheModule,
        HealthModule.forRoot({
          inject: [RATE_LIMIT_STORE, CatalogInvalidation, ...(relay ? [OutboxRelay] : [])],
          useFactory: (store: RateLimitStore, cache: CatalogInvalidation, outboxRelay?: OutboxRelay) => ({
            ...(outboxRelay
              ? { messaging: { check: 'broker', connected: () => outboxRelay.status().brokerConnected } }
              : {}),
            projections: deliverySubscriptions,
            outbox: true,
            // Reported, never failing: without them the api still serves (rate limits fail open,
            // the catalog is read from the database).
            degradable: [
              ...(config.redis.url === undefined ? [] : [{ check: 'redis', state: () => redisHealth(store) }]),
              { check: 'catalog-cache', state: () => cache.state() },
            ],
          }),
        }),
      ],
      controllers: apiControllers,
      providers: [
        JwtStrategy,
        // Order matters: rate limits first (cheap, and before credentials are checked).
        { provide: APP_GUARD, useClass: RateLimitGuard },
        { provide: APP_GUARD, useClass: JwtAuthGuard },
        { provide: APP_GUARD, useClass: RolesGuard },
        { provide: APP_FILTER, useClass: ProblemFilter },
        // Interceptors are bound per route by @ReadModel (X-Min-Position) and @Idempotent
        // (Idempotency-Key); no route has both.
      ],
    };
  }
}
