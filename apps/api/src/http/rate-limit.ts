import { Injectable, type ExecutionContext, type OnModuleDestroy } from '@nestjs/common';
import {
  ThrottlerGuard,
  type ThrottlerLimitDetail,
  type ThrottlerModuleOptions,
  type ThrottlerStorage,
} from '@nestjs/throttler';
import type { AppConfig } from '@emporium/config';
import { rateLimitRejections } from '@emporium/telemetry';
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
    storage: new FixedWindowStorage(ttl),
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

type ThrottlerStorageRecord = Awaited<ReturnType<ThrottlerStorage['increment']>>;

interface Window {
  hits: number;
  expiresAt: number;
  blockedUntil: number;
}

/**
 * The fixed windows above as one counter per key. @nestjs/throttler's default storage keeps a
 * timestamp per hit and filters the whole list on every request (O(hits in the window): a visible
 * share of each request's CPU in profiles, BENCHMARKS.md; and its memory grows with the limit). A client over its limit is blocked for blockDuration (the window by default), as before.
 */
export class FixedWindowStorage implements ThrottlerStorage, OnModuleDestroy {
  private readonly windows = new Map<string, Window>();
  private readonly sweeper: NodeJS.Timeout;

  constructor(sweepEveryMs: number) {
    this.sweeper = setInterval(() => this.sweep(Date.now()), Math.max(1000, sweepEveryMs));
    this.sweeper.unref();
  }

  increment(key: string, ttl: number, limit: number, blockDuration: number): Promise<ThrottlerStorageRecord> {
    const now = Date.now();
    let window = this.windows.get(key);
    if (window && window.blockedUntil > now) {
      window.hits += 1;
      return Promise.resolve(this.record(window, now, true));
    }
    if (!window || window.expiresAt <= now || window.blockedUntil !== 0) {
      // A new window, or the first request after a block ended: counting starts again.
      window = { hits: 0, expiresAt: now + ttl, blockedUntil: 0 };
      this.windows.set(key, window);
    }
    window.hits += 1;
    if (window.hits > limit) {
      window.blockedUntil = now + blockDuration;
      return Promise.resolve(this.record(window, now, true));
    }
    return Promise.resolve(this.record(window, now, false));
  }

  onModuleDestroy(): void {
    clearInterval(this.sweeper);
  }

  private record(window: Window, now: number, isBlocked: boolean): ThrottlerStorageRecord {
    return {
      totalHits: window.hits,
      timeToExpire: Math.ceil((window.expiresAt - now) / 1000),
      isBlocked,
      timeToBlockExpire: isBlocked ? Math.ceil((window.blockedUntil - now) / 1000) : 0,
    };
  }

  private sweep(now: number): void {
    for (const [key, window] of this.windows) {
      if (window.expiresAt <= now && window.blockedUntil <= now) this.windows.delete(key);
    }
  }
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

  protected override throwThrottlingException(context: ExecutionContext, detail: ThrottlerLimitDetail): Promise<void> {
    // generateKey above: `<throttler name>:<tracker>`.
    const limit = detail.key.slice(0, detail.key.indexOf(':'));
    const route = context.switchToHttp().getRequest<{ routeOptions?: { url?: string } }>().routeOptions?.url;
    rateLimitRejections.inc({ limit, route: route ?? 'unmatched' });
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
