import { createPublicKey, createSecretKey, type KeyObject } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { PassportStrategy } from '@nestjs/passport';
import { ExtractJwt, Strategy } from 'passport-jwt';
import { AppConfig } from '@emporium/config';
import type { Actor } from '@emporium/domain';

interface TokenClaims {
  sub?: unknown;
  email?: unknown;
  roles?: unknown;
  exp?: unknown;
}

/**
 * Bearer tokens only (never from the query string), one configured algorithm, issuer and audience checked,
 * and a token without `exp` is refused rather than treated as eternal.
 */
/** What jsonwebtoken builds per call from a string key, built once: the secret's bytes, or the public key. */
export function verificationKey(algorithm: string, key: string): KeyObject {
  return algorithm === 'HS256' ? createSecretKey(Buffer.from(key)) : createPublicKey(key);
}

@Injectable()
export class JwtStrategy extends PassportStrategy(Strategy) {
  constructor(config: AppConfig) {
    super({
      jwtFromRequest: ExtractJwt.fromAuthHeaderAsBearerToken(),
      // A key object built once: given a string, jsonwebtoken first tries to parse it as a public
      // key on every request (a failing createPublicKey showed up in profiles; BENCHMARKS.md).
      // passport-jwt hands the value through to jsonwebtoken untouched; its type says string | Buffer.
      secretOrKey: verificationKey(config.jwt.algorithm, config.jwt.verifyKey) as unknown as Buffer,
      // Exactly the configured algorithm: no `none`, and no RS256 public key replayed as an HMAC secret.
      algorithms: [config.jwt.algorithm],
      issuer: config.jwt.issuer,
      audience: config.jwt.audience,
      ignoreExpiration: false,
    });
  }

  validate(claims: TokenClaims): (Actor & { email: string }) | false {
    if (typeof claims.exp !== 'number' || typeof claims.sub !== 'string' || typeof claims.email !== 'string')
      return false;
    if (!Array.isArray(claims.roles) || !claims.roles.every((r) => typeof r === 'string')) return false;
    return { id: claims.sub, email: claims.email, roles: claims.roles };
  }
}
