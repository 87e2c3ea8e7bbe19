import { EventLogEntry } from './event-log.entity.js';

/**
 * The write side's building blocks, shared by every bounded context: aggregates that record
 * typed events, domain errors, the command context, and the unit of work that writes an
 * aggregate's rows and its `event_log` rows in one transaction. Nothing here knows how events
 * are delivered.
 */
export { DomainError, type DomainErrorKind } from './domain-error.js';
export { CurrencyMismatch, InvalidMoney, Money } from './money.js';
export { AggregateRoot, type RecordedEvent } from './aggregate-root.js';
export { CommandContext, type Actor, type CommandResult, type IdempotencyClaim } from './command-context.js';
export { EventLogEntry } from './event-log.entity.js';
export { ConcurrentModification, IdempotencyClaimLost, UnitOfWork, type UnitOfWorkOptions } from './unit-of-work.js';
export { eventLogCommits } from './commit-signal.js';
export { EVENT_ROW_COLUMNS, toEnvelope, type EventRow } from './event-row.js';
export { DomainModule } from './domain.module.js';

export const domainEntities = [EventLogEntry];
