import { createHash } from 'node:crypto';
import { UUID } from '@emporium/contracts';
import { DomainError } from '@emporium/domain';

/** What one position of a keyset key holds, checked when a cursor comes back. */
export type CursorPart = 'uuid' | 'instant' | 'integer' | 'text';
type PartValue<P extends CursorPart> = P extends 'integer' ? number : string;
/** A decoded key: one value per part, in order (e.g. `[placedAt, id]`). */
export type CursorKey<P extends readonly CursorPart[]> = { -readonly [I in keyof P]: PartValue<P[I]> };
/** The filter a page was asked with: a cursor is valid for this filter only. */
export type CursorFilter = Readonly<Record<string, string | number | boolean | undefined>>;

/** A 400 `invalid-cursor`; `reason` tells a cursor that is not one from one issued for other filters. */
export class InvalidCursor extends DomainError {
  readonly kind = 'invalid';
  readonly code = 'invalid-cursor';
  override readonly details: { reason: 'malformed' | 'filter-mismatch' };

  constructor(reason: 'malformed' | 'filter-mismatch') {
    super(
      reason === 'malformed'
        ? 'cursor is malformed: pass back nextCursor exactly as it was returned'
        : 'cursor was issued for other filters or another sort order: repeat the query with the filters of the page that returned it, or start again without a cursor',
    );
    this.details = { reason };
  }
}

const ISO_INSTANT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?Z$/;
const MAX_TEXT = 200;

const VALID: Record<CursorPart, (value: unknown) => boolean> = {
  uuid: (v) => typeof v === 'string' && UUID.test(v),
  instant: (v) => typeof v === 'string' && ISO_INSTANT.test(v) && !Number.isNaN(Date.parse(v)),
  integer: (v) => Number.isSafeInteger(v),
  text: (v) => typeof v === 'string' && v.length <= MAX_TEXT,
};

/**
 * The codec of every keyset cursor: an opaque base64url token holding the last row's sort key
 * and a fingerprint of the filter it was issued for. Decoding checks each value's shape (so it
 * can go into a typed comparison) and that the fingerprint matches the filter it is used with;
 * a cursor reused with other filters would silently skip or repeat rows otherwise.
 */
export class KeysetCursor<const P extends readonly CursorPart[]> {
  constructor(private readonly parts: P) {}

  encode(filter: CursorFilter, key: CursorKey<P>): string {
    return Buffer.from(JSON.stringify({ f: fingerprint(filter), k: key })).toString('base64url');
  }

  decode(raw: string, filter: CursorFilter): CursorKey<P> {
    let cursor: unknown;
    try {
      cursor = JSON.parse(Buffer.from(raw, 'base64url').toString('utf8'));
    } catch {
      throw new InvalidCursor('malformed');
    }
    const { f, k } = (cursor ?? {}) as { f?: unknown; k?: unknown };
    if (
      typeof f !== 'string' ||
      !Array.isArray(k) ||
      k.length !== this.parts.length ||
      !this.parts.every((part, i) => VALID[part](k[i]))
    ) {
      throw new InvalidCursor('malformed');
    }
    if (f !== fingerprint(filter)) throw new InvalidCursor('filter-mismatch');
    return k as CursorKey<P>;
  }
}

/** 72 bits of a hash of the filter's defined members in name order: short, and stable. */
function fingerprint(filter: CursorFilter): string {
  const canonical = Object.keys(filter)
    .filter((name) => filter[name] !== undefined)
    .sort()
    .map((name) => [name, filter[name]]);
  return createHash('sha256').update(JSON.stringify(canonical)).digest('base64url').slice(0, 12);
}
