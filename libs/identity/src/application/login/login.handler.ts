import { MikroORM } from '@mikro-orm/postgresql';
import { JwtService } from '@nestjs/jwt';
import { QueryHandler, type IQueryHandler } from '@nestjs/cqrs';
import { AppConfig } from '@emporium/config';
import { PasswordHasher } from '../../domain/password-hasher.js';
import { User } from '../../domain/user.entity.js';
import { InvalidCredentials } from '../../domain/user.errors.js';
import { Login, type AccessToken } from './login.query.js';
import { Instrumented } from '@emporium/telemetry';

@QueryHandler(Login)
export class LoginHandler implements IQueryHandler<Login> {
  constructor(
    private readonly orm: MikroORM,
    private readonly hasher: PasswordHasher,
    private readonly jwt: JwtService,
    private readonly config: AppConfig,
  ) {}

  @Instrumented('query')
  async execute({ email, password }: Login): Promise<AccessToken> {
    const user = await this.orm.em.fork().findOne(User, { email: User.normalizeEmail(email) });
    if (!user) {
      await this.hasher.burn(password);
      throw new InvalidCredentials();
    }
    if (!(await this.hasher.verify(password, user.passwordHash))) throw new InvalidCredentials();
    const accessToken = await this.jwt.signAsync({ sub: user.id, email: user.email, roles: user.roles });
    return { accessToken, tokenType: 'Bearer', expiresIn: this.config.jwt.ttlSeconds };
  }
}
