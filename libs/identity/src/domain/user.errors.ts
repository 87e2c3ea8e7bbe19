import { DomainError } from '@emporium/domain';

export class EmailTaken extends DomainError {
  readonly kind = 'conflict';
  readonly code = 'email-taken';
  constructor() {
    super('an account with this email already exists');
  }
}

/** The same error, and the same work, for an unknown email and a wrong password. */
export class InvalidCredentials extends DomainError {
  readonly kind = 'unauthorized';
  readonly code = 'invalid-credentials';
  constructor() {
    super('email or password is incorrect');
  }
}

export class UserNotFound extends DomainError {
  readonly kind = 'not-found';
  readonly code = 'user-not-found';
  constructor() {
    super('user does not exist');
  }
}
