import { MikroORM } from '@mikro-orm/postgresql';
import { JwtService } from '@nestjs/jwt';
import { QueryHandler, type IQueryHandler } from '@nestjs/cqrs';
import { AppConfig } from '@emporium/config';
import { readDb, type ReadDb } from '@emporium/database';
import { Instrumented } from '@emporium/telemetry';
import { PasswordHasher } from '../../domain/password-hasher.js';
import { User } from '../../domain/user.entity.js';
import { InvalidCredentials } from '../../domain/user.errors.js';
import { Login, type AccessToken } from './login.query.js';

@QueryHandler(Login)
export class LoginHandler implements IQueryHandler<Login> {
  private readonly db: ReadDb;

  constructor(
    orm: MikroORM,
    private readonly hasher: PasswordHasher,
    private readonly jwt: JwtService,
    private readonly config: AppConfig,
  ) {
    this.db = readDb(orm);
  }

  @Instrumented('query')
  async execute({ email, password }: Login): Promise<AccessToken> {
    // A query reads rows, not aggregates: the credentials and claims, nothing to track or flush.
    const user = await this.db
      .selectFrom('users')
      .select(['id', 'email', 'roles', 'password_hash'])
      .where('email', '=', User.normalizeEmail(email))
      .executeTakeFirst();
    if (!user) {
      await this.hasher.burn(password);
      throw new InvalidCredentials();
    }
    if (!(await this.hasher.verify(password, user.password_hash))) throw new InvalidCredentials();
    const accessToken = await this.jwt.signAsync({ sub: user.id, email: user.email, roles: user.roles });
    return { accessToken, tokenType: 'Bearer', expiresIn: this.config.jwt.ttlSeconds };
  }
}
