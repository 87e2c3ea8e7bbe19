import { Module } from '@nestjs/common';
import { JwtModule } from '@nestjs/jwt';
import { AppConfig } from '@emporium/config';
import { PasswordHasher } from './domain/password-hasher.js';
import { RegisterUserHandler } from './application/register-user/register-user.handler.js';
import { LoginHandler } from './application/login/login.handler.js';
import { GetCurrentUserHandler } from './application/get-current-user/get-current-user.handler.js';
import { AdminBootstrap } from './application/admin-bootstrap.js';

const commandHandlers = [RegisterUserHandler];
const queryHandlers = [LoginHandler, GetCurrentUserHandler];

@Module({
  imports: [
    JwtModule.registerAsync({
      global: true,
      inject: [AppConfig],
      useFactory: (config: AppConfig) => ({
        ...(config.jwt.algorithm === 'HS256'
          ? { secret: config.jwt.signingKey }
          : { privateKey: config.jwt.signingKey, publicKey: config.jwt.verifyKey }),
        signOptions: {
          algorithm: config.jwt.algorithm,
          issuer: config.jwt.issuer,
          audience: config.jwt.audience,
          expiresIn: config.jwt.ttlSeconds,
        },
        verifyOptions: { algorithms: [config.jwt.algorithm], issuer: config.jwt.issuer, audience: config.jwt.audience },
      }),
    }),
  ],
  providers: [PasswordHasher, AdminBootstrap, ...commandHandlers, ...queryHandlers],
  exports: [PasswordHasher],
})
export class IdentityModule {}
