import { Injectable, type ExecutionContext } from '@nestjs/common';
import { ThrottlerGuard, type ThrottlerLimitDetail, type ThrottlerModuleOptions } from '@nestjs/throttler';
import type { AppConfig } from '@emporium/config';
import { ProblemException } from './problem.js';

import { AUTH_ROUTE } from './rate-limit.decorator.js';

const isAuthRoute = (context: ExecutionContext): boolean =>
  Reflect.getMetadata(AUTH_ROUTE, context.getHandler()) === true;

/**
 * Three limits, each a fixed window of RATE_LIMIT_WINDOW_MS: every route per client address;
 * auth routes per address; auth routes per account, so a password cannot be guessed slowly from
 * many addresses. In-process counters: behind several replicas, put a shared storage here.
 */
export function rateLimitOptions(config: AppConfig): ThrottlerModuleOptions {
  const ttl = config.rateLimit.windowMs;
  return {
    throttlers: [
      { name: 'default', ttl, limit: config.rateLimit.default },
      { name: 'auth-ip', ttl, limit: config.rateLimit.authPerIp, skipIf: (c) => !isAuthRoute(c) },
      {
        name: 'auth-account',
        ttl,
        limit: config.rateLimit.authPerAccount,
        skipIf: (c) => !isAuthRoute(c),
        getTracker: (req: Record<string, unknown>) => {
          const body = req.body as { email?: unknown } | undefined;
          return typeof body?.email === 'string'
            ? `account:${body.email.trim().toLowerCase().slice(0, 254)}`
            : 'account:?';
        },
      },
    ],
  };
}

/** An IPv6 client controls a whole /64: count it as one address. */
export function clientNetwork(ip: string): string {
  if (!ip.includes(':') || ip.startsWith('::ffff:')) return ip.replace(/^::ffff:/, '');
  const [head, tail = ''] = ip.split('::');
  const left = head ? head.split(':') : [];
  const right = tail ? tail.split(':') : [];
  const groups = [...left, ...new Array<string>(Math.max(0, 8 - left.length - right.length)).fill('0'), ...right];
  return `${groups
    .slice(0, 4)
    .map((g) => g.toLowerCase().replace(/^0+(?=.)/, ''))
    .join(':')}::/64`;
}

@Injectable()
export class RateLimitGuard extends ThrottlerGuard {
  protected override getTracker(req: Record<string, unknown>): Promise<string> {
    return Promise.resolve(`ip:${clientNetwork(String(req.ip))}`);
  }

  /** Limits are per client, across all routes (the default key also includes the route). */
  protected override generateKey(_context: ExecutionContext, tracker: string, throttler: string): string {
    return `${throttler}:${tracker}`;
  }

  protected override throwThrottlingException(_context: ExecutionContext, detail: ThrottlerLimitDetail): Promise<void> {
    const seconds = Math.max(1, Math.ceil(detail.timeToBlockExpire || detail.timeToExpire));
    throw new ProblemException(
      429,
      'rate-limited',
      `too many requests: at most ${detail.limit} per ${Math.round(detail.ttl / 1000)} s; retry in ${seconds} s`,
      {},
      { 'retry-after': String(seconds) },
    );
  }
}
