import {
  DeadlockException,
  LockWaitTimeoutException,
  OptimisticLockError,
  UniqueConstraintViolationException,
} from '@mikro-orm/core';

const SERIALIZATION_FAILURE = '40001';
const LOCK_NOT_AVAILABLE = '55P03';

/** Errors that mean "someone else changed it first": safe to retry the whole command. */
export function isConcurrencyConflict(error: unknown): boolean {
  if (error instanceof OptimisticLockError || error instanceof DeadlockException) return true;
  if (error instanceof LockWaitTimeoutException) return true;
  if (error instanceof UniqueConstraintViolationException) {
    // Two writers of the same aggregate version: the event-stream guard in event_log.
    return String((error as { constraint?: string }).constraint ?? error.message).includes('event_log_stream_key');
  }
  const code = (error as { code?: string } | undefined)?.code;
  // 40001 serialization failure; 55P03 lock_timeout on a hot row: both mean "retry".
  return code === SERIALIZATION_FAILURE || code === LOCK_NOT_AVAILABLE;
}

export function isUniqueViolation(error: unknown, constraint: string): boolean {
  return error instanceof UniqueConstraintViolationException && error.message.includes(constraint);
}

/** The database is down, restarting, out of connections or resources. */
const UNAVAILABLE_SQLSTATE = /^(08|53|57P0)/;
/** Those, or this transaction lost a race: deadlock, serialization, lock or statement timeout. */
const TRANSIENT_SQLSTATE = /^(08|53|57P0|40001|40P01|55P03|57014)/;
const TRANSIENT_NETWORK =
  /ECONNREFUSED|ECONNRESET|EPIPE|ETIMEDOUT|Connection terminated|connection timeout|timeout exceeded when trying to connect|terminating connection|the database system is (starting up|shutting down)|Client has encountered a connection error|Client was closed and is not queryable/i;

/** A broken connection, or an SQLSTATE matching `sqlstate`, here or anywhere in the cause chain. */
function databaseFailure(error: unknown, sqlstate: RegExp): boolean {
  const e = error as { code?: unknown; message?: unknown; cause?: unknown } | undefined;
  if (!e) return false;
  if (typeof e.code === 'string' && (sqlstate.test(e.code) || TRANSIENT_NETWORK.test(e.code))) return true;
  if (typeof e.message === 'string' && TRANSIENT_NETWORK.test(e.message)) return true;
  if (error instanceof Error && error.name === 'ConnectionException') return true;
  return e.cause !== undefined && e.cause !== error && databaseFailure(e.cause, sqlstate);
}

/**
 * Failures of the database itself (down, restarting, connection killed, overloaded, a lock or
 * statement timeout), as opposed to failures of the work: worth retrying for as long as it takes.
 */
export function isTransientDatabaseError(error: unknown): boolean {
  return databaseFailure(error, TRANSIENT_SQLSTATE);
}

/**
 * The transient failures that are about the database, not about this transaction: it is down,
 * restarting, out of connections or resources, or the connection broke. (A deadlock, a
 * serialization failure or a lock timeout is transient too, but another attempt alone may succeed.)
 */
export function isDatabaseUnavailable(error: unknown): boolean {
  return databaseFailure(error, UNAVAILABLE_SQLSTATE);
}
