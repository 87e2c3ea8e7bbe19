import { Module, type DynamicModule, type FactoryProvider } from '@nestjs/common';
import { ORDER_CHANGE_FEED, OrderStreamHub, type OrderChangeFeed } from './order-stream.hub.js';
import { StreamTickets } from './stream-tickets.js';

/**
 * Live order updates: the hub that follows `event_log` for this process's streams, and the
 * stream tickets. The process that imports it provides the feed of its transport.
 */
@Module({})
export class OrderStreamModule {
  static forRoot(feed: Omit<FactoryProvider<OrderChangeFeed>, 'provide'>): DynamicModule {
    return {
      module: OrderStreamModule,
      providers: [{ provide: ORDER_CHANGE_FEED, ...feed }, OrderStreamHub, StreamTickets],
      exports: [OrderStreamHub, StreamTickets],
    };
  }
}
