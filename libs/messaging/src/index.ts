import { EventLogEntry } from './write/event-log.entity.js';

export { DomainError, type DomainErrorKind } from './write/domain-error.js';
export { AggregateRoot, type RecordedEvent } from './write/aggregate-root.js';
export { CommandContext, type Actor, type CommandResult, type IdempotencyClaim } from './write/command-context.js';
export { EventLogEntry } from './write/event-log.entity.js';
export {
  ConcurrentModification,
  IdempotencyClaimLost,
  UnitOfWork,
  type UnitOfWorkOptions,
} from './write/unit-of-work.js';
export { BrokerConnection } from './amqp/broker-connection.js';
export { ProjectionTopology } from './amqp/topology.js';
export {
  RabbitMqTransport,
  ProjectionMessageContext,
  Headers as MessageHeaders,
  type RabbitMqTransportOptions,
} from './amqp/rabbitmq.transport.js';
export {
  OutboxRelay,
  PROJECTION_SUBSCRIPTIONS,
  type ProjectionSubscription,
  type RelayStatus,
} from './relay/outbox-relay.js';
export {
  PoisonMessageError,
  settle,
  type ProjectionSettlement,
  field,
  isArray,
  isInt,
  isString,
  type Db,
  type Projection,
} from './projection/projection.js';
export { ProjectionRunner, PROJECTIONS, type ApplyOutcome } from './projection/projection-runner.js';
export { ProjectionProgress, type PositionState } from './projection/projection-progress.js';
export { MessagingModule, RelayModule, ProjectionRunnerModule } from './messaging.module.js';

export const messagingEntities = [EventLogEntry];
export { ProjectionRebuild, type RebuildProgress } from './projection/projection-rebuild.js';
export { withTimeout } from './timeout.js';
export { eventLogCommits } from './write/commit-signal.js';
export {
  EventLogTransport,
  EventLogMessageContext,
  type EventLogTransportOptions,
} from './local/event-log.transport.js';
export { EVENT_ROW_COLUMNS, toEnvelope, type EventRow } from './write/event-row.js';
