import { requireAmqpUrl, requireDatabaseUrl, type AppConfig } from '@emporium/config';
import { RabbitMqDeadLetters } from '../amqp/rabbitmq.dead-letters.js';
import { RabbitMqTransport } from '../amqp/rabbitmq.transport.js';
import { EventLogDeadLetters } from '../local/event-log.dead-letters.js';
import { EventLogTransport } from '../local/event-log.transport.js';
import { EventLogLiveFeed } from '../local/event-log.live-feed.js';
import { RabbitMqLiveFeed } from '../amqp/rabbitmq.live-feed.js';
import type { LiveFeed } from '../live/live-feed.js';
import { DeliveryServer } from './delivery-server.js';
import type { DeadLetterStore, DeliveryTransport, Subscription } from './port.js';

/**
 * The one place that picks a transport (and, beside it, the live feed of the same mode): RabbitMQ when AMQP_URL is set, otherwise `event_log`
 * read in process. Everything else (the core, health, metrics, the CLI) talks to the port.
 */
export function deliveryTransport(config: AppConfig, who: string): DeliveryTransport {
  const databaseUrl = requireDatabaseUrl(config, who);
  const { amqp, relay } = config;
  if (amqp.url === undefined) {
    return new EventLogTransport({ databaseUrl, batchSize: relay.batchSize, sweepIntervalMs: relay.sweepIntervalMs });
  }
  return new RabbitMqTransport({
    url: amqp.url,
    exchange: amqp.exchange,
    queuePrefix: amqp.queuePrefix,
    prefetch: amqp.prefetch,
    retryDelaysMs: amqp.retryDelaysMs,
    connectionName: 'emporium-projector',
  });
}

/** The dead letters of `subscriptions`, wherever the configured transport keeps them. */
export function deadLetterStore(
  config: AppConfig,
  subscriptions: readonly Subscription[],
  who: string,
): DeadLetterStore {
  if (config.amqp.url === undefined) {
    return new EventLogDeadLetters(requireDatabaseUrl(config, who), subscriptions);
  }
  const { exchange, queuePrefix } = config.amqp;
  return new RabbitMqDeadLetters(
    { url: requireAmqpUrl(config, who), exchange, queuePrefix, connectionName: `emporium-${who.replace(/\W+/g, '-')}` },
    subscriptions,
  );
}

/** The configured transport under the delivery core, as a Nest microservice for `subscriptions`. */
export function deliveryServer(config: AppConfig, subscriptions: readonly Subscription[]): DeliveryServer {
  const crashAt = config.crashAt === 'relay-after-confirm' ? undefined : config.crashAt;
  return new DeliveryServer(
    deliveryTransport(config, 'the projector'),
    subscriptions,
    { retryDelaysMs: config.amqp.retryDelaysMs },
    crashAt,
  );
}

/**
 * How `who` (an api process serving live updates) hears of new events: its own queue on the
 * relay's exchange with a broker, the in-process commit signal without one.
 */
export function liveFeed(config: AppConfig, who: string): LiveFeed {
  if (config.amqp.url === undefined) return new EventLogLiveFeed();
  return new RabbitMqLiveFeed({
    url: config.amqp.url,
    exchange: config.amqp.exchange,
    connectionName: `emporium-${who.replace(/\W+/g, '-')}-live`,
  });
}
