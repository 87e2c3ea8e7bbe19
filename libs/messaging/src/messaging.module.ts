import { Global, Module, type DynamicModule } from '@nestjs/common';
import { OutboxRelay, PROJECTION_SUBSCRIPTIONS } from './relay/outbox-relay.js';
import type { Subscription } from './delivery/port.js';

/** The outbox relay; imported by the api process (one replica holds the lock and publishes). */
@Global()
@Module({})
export class RelayModule {
  static forRoot(subscriptions: readonly Subscription[]): DynamicModule {
    return {
      module: RelayModule,
      providers: [{ provide: PROJECTION_SUBSCRIPTIONS, useValue: subscriptions }, OutboxRelay],
      exports: [OutboxRelay],
    };
  }
}
