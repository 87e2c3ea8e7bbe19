/**
 * Base of every domain and application error. `kind` is what the HTTP edge maps to a status
 * (once, in the problem+json filter); `code` is stable and documented for clients.
 */
export type DomainErrorKind =
  'invalid' | 'not-found' | 'conflict' | 'precondition-failed' | 'unprocessable' | 'unauthorized' | 'forbidden';

export abstract class DomainError extends Error {
  abstract readonly kind: DomainErrorKind;
  abstract readonly code: string;
  /** Extra, safe-to-show members of the problem document (e.g. the products out of stock). */
  readonly details?: Record<string, unknown>;
}
