import { GroupCommit } from './group-commit.js';

/** A promise the test releases by hand: stands in for a transaction being written. */
function gate(): { promise: Promise<void>; open: () => void } {
  let open!: () => void;
  const promise = new Promise<void>((resolve) => (open = resolve));
  return { promise, open };
}

describe('GroupCommit', () => {
  it('writes what is submitted in one turn together, and what arrives meanwhile in the next, at most maxBatch at a time', async () => {
    const calls: string[][] = [];
    const writing = gate();
    const batches = new GroupCommit<string, string>(
      3,
      async (items) => {
        calls.push(items);
        if (calls.length === 1) await writing.promise;
        return items.map((i) => ({ status: 'fulfilled' as const, value: `all:${i}` }));
      },
      async (item) => {
        calls.push([item]);
        return `one:${item}`;
      },
    );
    const first = ['a', 'b'].map((i) => batches.submit(i));
    await new Promise((resolve) => setImmediate(resolve)); // the first batch is being written
    const later = ['c', 'd', 'e', 'f'].map((i) => batches.submit(i));
    writing.open();
    expect(await Promise.all([...first, ...later])).toEqual(['all:a', 'all:b', 'all:c', 'all:d', 'all:e', 'one:f']);
    expect(calls).toEqual([['a', 'b'], ['c', 'd', 'e'], ['f']]);
  });

  it('settles each item of a failed batch on its own: one failure decides nothing for the others', async () => {
    const first = gate();
    let alone = 0;
    const batches = new GroupCommit<number, string>(
      10,
      async () => {
        throw new Error('the batch rolled back');
      },
      (item) => {
        if (item === 3) throw new Error('thrown synchronously');
        return (async () => {
          if (alone++ === 0) await first.promise;
          if (item === 2) throw new Error('poison');
          return `ok:${item}`;
        })();
      },
    );
    const results = [0, 1, 2, 3, 4].map((i) => batches.submit(i).catch((e: Error) => `failed:${e.message}`));
    first.open();
    expect(await Promise.all(results)).toEqual([
      'ok:0',
      'ok:1',
      'failed:poison',
      'failed:thrown synchronously',
      'ok:4',
    ]);
  });

  it('starts again after going idle', async () => {
    const batches = new GroupCommit<number, number>(
      10,
      async (items) => items.map((i) => ({ status: 'fulfilled' as const, value: i * 10 })),
      async (item) => item,
    );
    expect(await batches.submit(1)).toBe(1);
    expect(await batches.submit(2)).toBe(2);
  });
});
