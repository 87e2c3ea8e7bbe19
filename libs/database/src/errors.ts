import {
  DeadlockException,
  LockWaitTimeoutException,
  OptimisticLockError,
  UniqueConstraintViolationException,
} from '@mikro-orm/core';

const SERIALIZATION_FAILURE = '40001';

/** Errors that mean "someone else changed it first": safe to retry the whole command. */
export function isConcurrencyConflict(error: unknown): boolean {
  if (error instanceof OptimisticLockError || error instanceof DeadlockException) return true;
  if (error instanceof LockWaitTimeoutException) return true;
  if (error instanceof UniqueConstraintViolationException) {
    // Two writers of the same aggregate version: the event-stream guard in event_log.
    return String((error as { constraint?: string }).constraint ?? error.message).includes('event_log_stream_key');
  }
  return (error as { code?: string } | undefined)?.code === SERIALIZATION_FAILURE;
}

export function isUniqueViolation(error: unknown, constraint: string): boolean {
  return error instanceof UniqueConstraintViolationException && error.message.includes(constraint);
}
