import { LRUCache } from 'lru-cache';
import client from 'prom-client';
import { registry } from '@emporium/telemetry';

const cacheRequests = new client.Counter({
  name: 'emporium_cache_requests_total',
  help: 'Cache lookups by cache and result: hit, miss, or bypass (cache off, or its invalidation feed down)',
  labelNames: ['cache', 'result'] as const,
  registers: [registry],
});
const cacheEvictions = new client.Counter({
  name: 'emporium_cache_evictions_total',
  help: 'Entries evicted to stay within the entry and byte bounds, by cache (invalidations not counted)',
  labelNames: ['cache'] as const,
  registers: [registry],
});
const cacheInvalidations = new client.Counter({
  name: 'emporium_cache_invalidations_total',
  help: 'Entries dropped because their row changed (a notification), or all of them (reset), by cache',
  labelNames: ['cache', 'kind'] as const,
  registers: [registry],
});
const caches = new Set<ReadThroughCache<object>>();
new client.Gauge({
  name: 'emporium_cache_entries',
  help: 'Entries held, by cache',
  labelNames: ['cache'] as const,
  registers: [registry],
  collect() {
    for (const cache of caches) this.set({ cache: cache.name }, cache.size);
  },
});
new client.Gauge({
  name: 'emporium_cache_bytes',
  help: 'Approximate bytes held (JSON length of the entries), by cache',
  labelNames: ['cache'] as const,
  registers: [registry],
  collect() {
    for (const cache of caches) this.set({ cache: cache.name }, cache.bytes);
  },
});

interface Entry<V> {
  value: V;
  /** The read model had applied at least this event-log position when the value was read. */
  position: bigint;
}

/** A read still in flight for a key; an invalidation of that key marks it, so it is not stored. */
interface Ticket {
  stale: boolean;
}

/**
 * A read-through cache that is never wrong about a row it was told changed:
 *
 * - `invalidate(key)` drops the entry and marks every read of that key still in flight: a value
 *   read from the database before the change but returning after the notification is served to
 *   its own request (it was current when read) and never stored.
 * - `suspend()` (the invalidation feed is down: notifications may be lost) empties the cache and
 *   bypasses it; `resume()` (the feed is listening again) starts from empty, and a read that began
 *   before it is not stored either (a global epoch).
 * - An entry remembers the read model position it was read at (a lower bound); a request that
 *   asks for a later position (X-Min-Position) reads the database, and stores what it read at
 *   that position.
 */
export class ReadThroughCache<V extends object> {
  private readonly lru: LRUCache<string, Entry<V>>;
  private readonly inFlight = new Map<string, Set<Ticket>>();
  private epoch = 0;
  private suspended = true;

  constructor(
    readonly name: string,
    options: { maxEntries: number; maxBytes: number },
  ) {
    this.lru = new LRUCache<string, Entry<V>>({
      max: Math.max(1, options.maxEntries),
      maxSize: options.maxBytes,
      sizeCalculation: (entry) => Math.max(1, JSON.stringify(entry.value).length),
      dispose: (_entry, _key, reason) => {
        if (reason === 'evict') cacheEvictions.inc({ cache: name });
      },
    });
    caches.add(this as unknown as ReadThroughCache<object>);
  }

  get size(): number {
    return this.lru.size;
  }

  get bytes(): number {
    return this.lru.calculatedSize;
  }

  get active(): boolean {
    return !this.suspended;
  }

  /**
   * The value for `key`, from the cache if it holds one read at `minPosition` or later, otherwise
   * from `load` (a rejection, e.g. not found, is passed on and nothing is stored).
   */
  async get(key: string, minPosition: bigint, load: () => Promise<V>): Promise<V> {
    if (this.suspended) {
      cacheRequests.inc({ cache: this.name, result: 'bypass' });
      return load();
    }
    const entry = this.lru.get(key);
    if (entry && entry.position >= minPosition) {
      cacheRequests.inc({ cache: this.name, result: 'hit' });
      return entry.value;
    }
    cacheRequests.inc({ cache: this.name, result: 'miss' });
    const ticket: Ticket = { stale: false };
    const epoch = this.epoch;
    let tickets = this.inFlight.get(key);
    if (!tickets) this.inFlight.set(key, (tickets = new Set()));
    tickets.add(ticket);
    try {
      const value = await load();
      if (!ticket.stale && epoch === this.epoch && !this.suspended) {
        const current = this.lru.get(key, { updateAgeOnGet: false });
        // Never replace an entry known to be newer (read for a later X-Min-Position).
        if (!current || current.position <= minPosition) this.lru.set(key, { value, position: minPosition });
      }
      return value;
    } finally {
      tickets.delete(ticket);
      if (tickets.size === 0) this.inFlight.delete(key);
    }
  }

  /** The row behind `key` changed (its transaction committed). */
  invalidate(key: string): void {
    cacheInvalidations.inc({ cache: this.name, kind: 'row' });
    this.lru.delete(key);
    for (const ticket of this.inFlight.get(key) ?? []) ticket.stale = true;
  }

  /** Notifications may have been missed: forget everything and serve from the database. */
  suspend(): void {
    this.suspended = true;
    this.reset();
  }

  /** Notifications flow again: cache from now on, starting empty. */
  resume(): void {
    this.reset();
    this.suspended = false;
  }

  private reset(): void {
    cacheInvalidations.inc({ cache: this.name, kind: 'reset' });
    this.epoch += 1;
    this.lru.clear();
    for (const tickets of this.inFlight.values()) for (const ticket of tickets) ticket.stale = true;
  }
}
