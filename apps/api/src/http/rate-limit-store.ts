import { Logger } from '@nestjs/common';
import { Redis } from 'ioredis';
import client from 'prom-client';
import { registry } from '@emporium/telemetry';

/** One counter to bump for a request: the client (or account) it counts against, and its limit. */
export interface RateLimitCheck {
  key: string;
  limit: number;
  windowMs: number;
}

export interface RateLimitResult {
  hits: number;
  blocked: boolean;
  /** Until the window ends (not blocked) or the block ends (blocked). */
  resetMs: number;
}

/** Where the fixed-window counters live: this process, or Redis shared by every replica. */
export interface RateLimitStore {
  /** Counts one request against every check, atomically and in one round trip. */
  hit(checks: readonly RateLimitCheck[]): Promise<RateLimitResult[]>;
  /** For /health: whether the counters are where they should be. */
  state(): { store: 'memory' | 'redis'; connected: boolean; lastError?: string };
  close(): Promise<void>;
}

export const rateLimitStoreErrors = new client.Counter({
  name: 'emporium_rate_limit_store_errors_total',
  help: 'Rate-limit checks the shared store (Redis) could not answer; each such request was allowed (fail open)',
  registers: [registry],
});

interface Window {
  hits: number;
  expiresAt: number;
  blockedUntil: number;
}

/**
 * The fixed windows as one counter per key, in this process. A client over its limit is blocked
 * for the window, counted from the request that went over; then counting starts again. Behind
 * several replicas each keeps its own counters, so N replicas allow N times the limit: set
 * REDIS_URL there.
 */
export class MemoryRateLimitStore implements RateLimitStore {
  private readonly windows = new Map<string, Window>();
  private readonly sweeper: NodeJS.Timeout;

  constructor(sweepEveryMs: number) {
    this.sweeper = setInterval(() => this.sweep(Date.now()), Math.max(1000, sweepEveryMs));
    this.sweeper.unref();
  }

  hit(checks: readonly RateLimitCheck[]): Promise<RateLimitResult[]> {
    const now = Date.now();
    return Promise.resolve(checks.map((check) => this.hitOne(check, now)));
  }

  state(): ReturnType<RateLimitStore['state']> {
    return { store: 'memory', connected: true };
  }

  close(): Promise<void> {
    clearInterval(this.sweeper);
    return Promise.resolve();
  }

  private hitOne({ key, limit, windowMs }: RateLimitCheck, now: number): RateLimitResult {
    let window = this.windows.get(key);
    if (window && window.blockedUntil > now) {
      window.hits += 1;
      return { hits: window.hits, blocked: true, resetMs: window.blockedUntil - now };
    }
    if (!window || window.expiresAt <= now || window.blockedUntil !== 0) {
      // A new window, or the first request after a block ended: counting starts again.
      window = { hits: 0, expiresAt: now + windowMs, blockedUntil: 0 };
      this.windows.set(key, window);
    }
    window.hits += 1;
    if (window.hits > limit) {
      window.blockedUntil = now + windowMs;
      return { hits: window.hits, blocked: true, resetMs: windowMs };
    }
    return { hits: window.hits, blocked: false, resetMs: window.expiresAt - now };
  }

  private sweep(now: number): void {
    for (const [key, window] of this.windows) {
      if (window.expiresAt <= now && window.blockedUntil <= now) this.windows.delete(key);
    }
  }
}

/**
 * The same windows, in Redis: every check of a request in one script (atomic, one round trip).
 * KEYS: the counters; ARGV[1]: the window in ms, ARGV[1 + i]: the limit of KEYS[i]. Returns
 * hits, blocked (0/1) and milliseconds left, three numbers per key. A counter over its limit is
 * replaced by a block key that expires with the window; the next request after it starts afresh.
 */
const HIT_SCRIPT = `
local window = tonumber(ARGV[1])
local out = {}
for i, key in ipairs(KEYS) do
  local limit = tonumber(ARGV[i + 1])
  local block = key .. ':blocked'
  local blockedFor = redis.call('PTTL', block)
  if blockedFor > 0 then
    out[#out + 1] = limit + 1
    out[#out + 1] = 1
    out[#out + 1] = blockedFor
  else
    local hits = redis.call('INCR', key)
    local left = redis.call('PTTL', key)
    if hits == 1 or left < 0 then
      redis.call('PEXPIRE', key, window)
      left = window
    end
    if hits > limit then
      redis.call('SET', block, '1', 'PX', window)
      redis.call('DEL', key)
      out[#out + 1] = hits
      out[#out + 1] = 1
      out[#out + 1] = window
    else
      out[#out + 1] = hits
      out[#out + 1] = 0
      out[#out + 1] = left
    end
  end
end
return out
`;

type ScriptedRedis = Redis & {
  emporiumRateLimit(numberOfKeys: number, ...args: Array<string | number>): Promise<number[]>;
};

/**
 * Counters shared by every replica. While Redis is unreachable or slower than
 * REDIS_COMMAND_TIMEOUT_MS, requests are allowed (fail open: a rate limiter must not take the
 * shop down with it), counted in emporium_rate_limit_store_errors_total and reported as
 * degraded by /health; the client reconnects by itself (docs/adr/0020-scaling-out-the-read-side.md).
 */
export class RedisRateLimitStore implements RateLimitStore {
  private readonly logger = new Logger('RateLimit');
  private readonly redis: ScriptedRedis;
  private lastError: string | undefined;
  private lastLoggedAt = 0;

  constructor(url: string, commandTimeoutMs: number, connectionName: string) {
    this.redis = new Redis(url, {
      connectionName,
      // Fail now rather than queue behind a dead connection; never retry a counted request.
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      commandTimeout: commandTimeoutMs,
      connectTimeout: Math.max(1000, commandTimeoutMs * 4),
      retryStrategy: (attempt) => Math.min(100 * 2 ** Math.min(attempt, 5), 2000),
    }) as ScriptedRedis;
    this.redis.defineCommand('emporiumRateLimit', { lua: HIT_SCRIPT });
    this.redis.on('error', (error: Error) => this.failed(error));
    this.redis.on('ready', () => {
      if (this.lastError !== undefined) this.logger.log('rate-limit store (Redis) is reachable again');
      this.lastError = undefined;
    });
  }

  async hit(checks: readonly RateLimitCheck[]): Promise<RateLimitResult[]> {
    if (checks.length === 0) return [];
    try {
      const reply = await this.redis.emporiumRateLimit(
        checks.length,
        ...checks.map((c) => c.key),
        checks[0].windowMs,
        ...checks.map((c) => c.limit),
      );
      return checks.map((_, i) => ({
        hits: Number(reply[3 * i]),
        blocked: Number(reply[3 * i + 1]) === 1,
        resetMs: Math.max(0, Number(reply[3 * i + 2])),
      }));
    } catch (error) {
      rateLimitStoreErrors.inc();
      this.failed(error as Error);
      return checks.map((c) => ({ hits: 0, blocked: false, resetMs: c.windowMs }));
    }
  }

  state(): ReturnType<RateLimitStore['state']> {
    const connected = this.redis.status === 'ready';
    return { store: 'redis', connected, ...(connected ? {} : { lastError: this.lastError ?? this.redis.status }) };
  }

  async close(): Promise<void> {
    await this.redis.quit().catch(() => this.redis.disconnect());
  }

  private failed(error: Error): void {
    this.lastError = error.message;
    // One line per 10 s at most: an outage must not flood the log with a line per request.
    if (Date.now() - this.lastLoggedAt > 10_000) {
      this.lastLoggedAt = Date.now();
      this.logger.warn(`rate-limit store (Redis) unavailable, allowing requests: ${error.message}`);
    }
  }
}
