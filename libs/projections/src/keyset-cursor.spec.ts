import { InvalidCursor, KeysetCursor } from './keyset-cursor.js';

describe('KeysetCursor', () => {
  const cursor = new KeysetCursor(['instant', 'uuid']);
  const id = '0b7c2f4e-3c1a-4b8e-9f00-5d2a1e6c7b90';
  const filter: Record<string, string | undefined> = { status: 'paid', customerId: undefined };

  const reasonOf = (raw: string, used = filter): string | undefined => {
    try {
      cursor.decode(raw, used);
      return undefined;
    } catch (error) {
      expect(error).toBeInstanceOf(InvalidCursor);
      expect((error as InvalidCursor).code).toBe('invalid-cursor');
      return (error as InvalidCursor).details.reason;
    }
  };
  const forge = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString('base64url');

  it('gives back the key it was issued with, for the same filter', () => {
    const raw = cursor.encode(filter, ['2026-11-30T10:00:00.123Z', id]);
    expect(cursor.decode(raw, { ...filter })).toEqual(['2026-11-30T10:00:00.123Z', id]);
  });

  it('ignores absent filter members and their order: only the values define the filter', () => {
    const raw = cursor.encode({ a: 1, b: 'x', c: undefined }, ['2026-11-30T10:00:00Z', id]);
    expect(cursor.decode(raw, { b: 'x', a: 1 })).toEqual(['2026-11-30T10:00:00Z', id]);
  });

  it('refuses a cursor issued for another filter, saying so', () => {
    const raw = cursor.encode(filter, ['2026-11-30T10:00:00Z', id]);
    expect(reasonOf(raw, { status: 'shipped', customerId: undefined })).toBe('filter-mismatch');
    expect(reasonOf(raw, { status: 'paid', customerId: id })).toBe('filter-mismatch');
  });

  it('refuses anything that is not a cursor it issued, without throwing anything else', () => {
    const issued = JSON.parse(
      Buffer.from(cursor.encode(filter, ['2026-11-30T10:00:00Z', id]), 'base64url').toString(),
    ) as { f: string };
    for (const raw of [
      'not-a-cursor',
      forge(null),
      forge([1, 2]),
      forge({ f: issued.f, k: ['2026-11-30T10:00:00Z'] }),
      forge({ f: issued.f, k: ['yesterday', id] }),
      forge({ f: issued.f, k: ['2026-13-45T99:00:00Z', id] }),
      forge({ f: issued.f, k: ['2026-11-30T10:00:00Z', "1' or '1'='1"] }),
      forge({ f: 1, k: ['2026-11-30T10:00:00Z', id] }),
    ]) {
      expect(reasonOf(raw)).toBe('malformed');
    }
  });

  it('checks integers and bounded text by their part', () => {
    const byPrice = new KeysetCursor(['integer', 'uuid']);
    const byName = new KeysetCursor(['text', 'uuid']);
    expect(byPrice.decode(byPrice.encode({}, [4500, id]), {})).toEqual([4500, id]);
    expect(() => byPrice.decode(byName.encode({}, ['4500', id]), {})).toThrow(InvalidCursor);
    expect(() => byName.decode(byName.encode({}, ['x'.repeat(201), id]), {})).toThrow(InvalidCursor);
  });
});
