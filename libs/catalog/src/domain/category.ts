/**
 * A category as people write it: "Electronics", "Home & Garden", "Kids' toys", up to 64
 * characters of letters (any script), digits, spaces and `& ' . , / + ( ) - _`, starting with a
 * letter or digit. Compared without regard to case: "electronics" is the same category.
 */
export const CATEGORY_NAME = /^[\p{L}\p{N}][\p{L}\p{N} &'.,/+()_-]{0,63}$/u;

/** Surrounding whitespace dropped and inner runs of it made one space, as the name is stored. */
export function normalizeCategory(raw: string): string {
  return raw.trim().replace(/\s+/g, ' ');
}
