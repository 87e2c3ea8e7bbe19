/**
 * Event delivery: the relay that publishes `event_log` to the broker, and the delivery core that
 * hands events to subscribers (projections) through one port, whatever the transport.
 */
export {
  type DeadLetter,
  type DeadLetterStore,
  type Delivery,
  type DeliveryTransport,
  NoSuchDeadLetter,
  type Retry,
  SettlementLost,
  type Subscription,
} from './delivery/port.js';
export {
  classify,
  DeliveryCore,
  type DeliveryPolicy,
  type FailureKind,
  type Subscriber,
} from './delivery/delivery-core.js';
export { DeliveryServer } from './delivery/delivery-server.js';
export { Pump } from './delivery/pump.js';
export { deadLetterStore, deliveryServer, deliveryTransport, liveFeed } from './delivery/transports.js';
export { type LiveFeed } from './live/live-feed.js';
export { RabbitMqLiveFeed, type RabbitMqLiveFeedOptions } from './amqp/rabbitmq.live-feed.js';
export { EventLogLiveFeed } from './local/event-log.live-feed.js';
export { BrokerConnection } from './amqp/broker-connection.js';
export { ProjectionTopology } from './amqp/topology.js';
export {
  RabbitMqTransport,
  Headers as MessageHeaders,
  type RabbitMqTransportOptions,
} from './amqp/rabbitmq.transport.js';
export { RabbitMqDeadLetters } from './amqp/rabbitmq.dead-letters.js';
export { EventLogTransport, type EventLogTransportOptions } from './local/event-log.transport.js';
export { EventLogDeadLetters } from './local/event-log.dead-letters.js';
export { OutboxRelay, PROJECTION_SUBSCRIPTIONS, type RelayStatus } from './relay/outbox-relay.js';
export { RelayModule } from './messaging.module.js';
export { withTimeout } from './timeout.js';
