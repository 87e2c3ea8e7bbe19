import { Query } from '@nestjs/cqrs';

export interface AccessToken {
  accessToken: string;
  tokenType: 'Bearer';
  expiresIn: number;
}

/** Checks credentials and issues a JWT. A query: it changes nothing. */
export class Login extends Query<AccessToken> {
  constructor(
    readonly email: string,
    readonly password: string,
  ) {
    super();
  }
}
