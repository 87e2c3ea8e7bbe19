import { ReadThroughCache } from './product-cache.js';

interface Row {
  price: number;
}

/** A database read that answers when the test says so. */
function deferredRead(value: Row): { load: () => Promise<Row>; answer: () => void; calls: () => number } {
  let calls = 0;
  let answer: () => void = () => undefined;
  return {
    load: () => {
      calls += 1;
      return new Promise<Row>((resolve) => (answer = () => resolve(value)));
    },
    answer: () => answer(),
    calls: () => calls,
  };
}

describe('ReadThroughCache', () => {
  const fresh = (): ReadThroughCache<Row> => {
    const cache = new ReadThroughCache<Row>(`test-${Math.random()}`, { maxEntries: 10, maxBytes: 10_000 });
    cache.resume();
    return cache;
  };
  const read = (cache: ReadThroughCache<Row>, value: Row, minPosition = 0n) =>
    cache.get('p1', minPosition, () => Promise.resolve(value));

  it('serves a stored value until its row is invalidated', async () => {
    const cache = fresh();
    expect(await read(cache, { price: 1 })).toEqual({ price: 1 });
    expect(await read(cache, { price: 2 })).toEqual({ price: 1 });
    cache.invalidate('p1');
    expect(await read(cache, { price: 2 })).toEqual({ price: 2 });
  });

  it('does not store a value read before an invalidation that arrived while it was in flight', async () => {
    const cache = fresh();
    const old = deferredRead({ price: 1 });
    const inFlight = cache.get('p1', 0n, old.load);
    cache.invalidate('p1'); // the change committed; the read above may have seen the row before it
    old.answer();
    expect(await inFlight).toEqual({ price: 1 }); // its own request gets what was current when read
    expect(await read(cache, { price: 2 })).toEqual({ price: 2 }); // but it was never stored
  });

  it('bypasses and forgets everything while suspended, and does not store reads that began before it resumed', async () => {
    const cache = fresh();
    await read(cache, { price: 1 });
    cache.suspend();
    expect(cache.size).toBe(0);
    expect(await read(cache, { price: 2 })).toEqual({ price: 2 });
    expect(cache.size).toBe(0);
    const before = deferredRead({ price: 2 });
    cache.resume();
    const started = cache.get('p1', 0n, before.load);
    cache.suspend();
    cache.resume();
    before.answer();
    await started;
    expect(cache.size).toBe(0);
  });

  it('serves an entry only to requests asking for a position it was read at or before', async () => {
    const cache = fresh();
    await read(cache, { price: 1 }, 0n);
    expect(await read(cache, { price: 2 }, 10n)).toEqual({ price: 2 }); // read again, at 10
    expect(await read(cache, { price: 3 }, 10n)).toEqual({ price: 2 });
    expect(await read(cache, { price: 3 }, 0n)).toEqual({ price: 2 });
    expect(await read(cache, { price: 4 }, 11n)).toEqual({ price: 4 });
  });

  it('stays within its bounds, evicting the least recently used', async () => {
    const cache = new ReadThroughCache<Row>(`test-${Math.random()}`, { maxEntries: 2, maxBytes: 10_000 });
    cache.resume();
    for (const key of ['a', 'b', 'c']) await cache.get(key, 0n, () => Promise.resolve({ price: 1 }));
    expect(cache.size).toBe(2);
    // 'a' was the least recently used: it went, so it is read again.
    expect(await cache.get('a', 0n, () => Promise.resolve({ price: 9 }))).toEqual({ price: 9 });
    expect(await cache.get('c', 0n, () => Promise.resolve({ price: 9 }))).toEqual({ price: 1 });
  });
});
