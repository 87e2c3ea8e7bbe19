import { createHash } from 'node:crypto';
import {
  Inject,
  Injectable,
  Module,
  type CanActivate,
  type DynamicModule,
  type ExecutionContext,
  type OnModuleDestroy,
} from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { AppConfig } from '@emporium/config';
import { rateLimitRejections } from '@emporium/telemetry';
import { ProblemException } from './problem.js';
import { AUTH_ROUTE } from './rate-limit.decorator.js';
import {
  MemoryRateLimitStore,
  RedisRateLimitStore,
  type RateLimitCheck,
  type RateLimitStore,
} from './rate-limit-store.js';

export const RATE_LIMIT_STORE = Symbol('RATE_LIMIT_STORE');

const isAuthRoute = (context: ExecutionContext): boolean =>
  Reflect.getMetadata(AUTH_ROUTE, context.getHandler()) === true;

interface Rule {
  /** Names the headers (`X-RateLimit-Limit-<name>`; none for `default`) and the counter. */
  name: string;
  limit: number;
  applies(context: ExecutionContext): boolean;
  tracker(request: FastifyRequest): string;
}

const byAddress = (request: FastifyRequest): string => `ip:${clientNetwork(request.ip)}`;

/**
 * Probes answer from memory and are asked by load balancers and kubelets, many replicas from one
 * address: counted, a load balancer's checks of N replicas would exhaust its own limit and take
 * every replica out of rotation.
 */
const UNCOUNTED = new Set(['/health/live', '/health/ready']);

/**
 * Three limits, each a fixed window of RATE_LIMIT_WINDOW_MS: every route per client address;
 * auth routes per address; auth routes per account, so a password cannot be guessed slowly from
 * many addresses (the login lockout).
 */
function rules(config: AppConfig): Rule[] {
  return [
    { name: 'default', limit: config.rateLimit.default, applies: () => true, tracker: byAddress },
    { name: 'auth-ip', limit: config.rateLimit.authPerIp, applies: isAuthRoute, tracker: byAddress },
    {
      name: 'auth-account',
      limit: config.rateLimit.authPerAccount,
      applies: isAuthRoute,
      tracker: (request) => {
        const body = request.body as { email?: unknown } | undefined;
        if (typeof body?.email !== 'string') return 'account:?';
        // Hashed: the shared store need not hold customers' email addresses.
        const email = body.email.trim().toLowerCase().slice(0, 254);
        return `account:${createHash('sha256').update(email).digest('base64url').slice(0, 32)}`;
      },
    },
  ];
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

/**
 * Every rule that applies to a request is counted in one call to the store (one Redis round trip
 * when the counters are shared); over any limit is a 429 with Retry-After. Limits are per client
 * across all routes.
 */
@Injectable()
export class RateLimitGuard implements CanActivate {
  private readonly rules: Rule[];
  private readonly windowMs: number;
  private readonly prefix: string;

  constructor(
    config: AppConfig,
    @Inject(RATE_LIMIT_STORE) private readonly store: RateLimitStore,
  ) {
    this.rules = rules(config);
    this.windowMs = config.rateLimit.windowMs;
    this.prefix = `${config.redis.keyPrefix}rl:`;
  }

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const http = context.switchToHttp();
    const request = http.getRequest<FastifyRequest>();
    const reply = http.getResponse<FastifyReply>();
    if (UNCOUNTED.has(request.routeOptions.url ?? '')) return true;
    const applied = this.rules.filter((rule) => rule.applies(context));
    const checks: RateLimitCheck[] = applied.map((rule) => ({
      key: `${this.prefix}${rule.name}:${rule.tracker(request)}`,
      limit: rule.limit,
      windowMs: this.windowMs,
    }));
    const results = await this.store.hit(checks);
    let exceeded: { rule: Rule; seconds: number } | undefined;
    applied.forEach((rule, i) => {
      const result = results[i];
      const suffix = rule.name === 'default' ? '' : `-${rule.name}`;
      const seconds = Math.max(1, Math.ceil(result.resetMs / 1000));
      if (result.blocked) {
        exceeded ??= { rule, seconds };
        return;
      }
      void reply.header(`X-RateLimit-Limit${suffix}`, rule.limit);
      void reply.header(`X-RateLimit-Remaining${suffix}`, Math.max(0, rule.limit - result.hits));
      void reply.header(`X-RateLimit-Reset${suffix}`, seconds);
    });
    if (exceeded) {
      rateLimitRejections.inc({ limit: exceeded.rule.name, route: request.routeOptions.url ?? 'unmatched' });
      throw new ProblemException(
        429,
        'rate-limited',
        `too many requests: at most ${exceeded.rule.limit} per ${Math.round(this.windowMs / 1000)} s; ` +
          `retry in ${exceeded.seconds} s`,
        {},
        { 'retry-after': String(exceeded.seconds) },
      );
    }
    return true;
  }
}

/** The store this process counts in: Redis when REDIS_URL is set, otherwise its own memory. */
@Module({})
export class RateLimitModule implements OnModuleDestroy {
  constructor(@Inject(RATE_LIMIT_STORE) private readonly store: RateLimitStore) {}

  static forRoot(config: AppConfig): DynamicModule {
    const store: RateLimitStore =
      config.redis.url === undefined
        ? new MemoryRateLimitStore(config.rateLimit.windowMs)
        : new RedisRateLimitStore(config.redis.url, config.redis.commandTimeoutMs, 'emporium-api');
    return {
      module: RateLimitModule,
      global: true,
      providers: [{ provide: RATE_LIMIT_STORE, useValue: store }],
      exports: [RATE_LIMIT_STORE],
    };
  }

  async onModuleDestroy(): Promise<void> {
    await this.store.close();
  }
}
