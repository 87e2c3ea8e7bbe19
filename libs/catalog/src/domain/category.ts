/**
 * A category as people write it: "Electronics", "Home & Garden", "Küche", "Kids' toys", up to 64
 * characters of Latin letters (accented ones included), digits, spaces and `& ' . , / + ( ) - _`,
 * starting with a letter or digit. Compared without regard to case: "electronics" is the same
 * category. Written without Unicode property escapes so that the same pattern holds in the
 * OpenAPI document for every client's regular expressions.
 */
export const CATEGORY_NAME =
  /^[A-Za-z0-9\u00C0-\u00D6\u00D8-\u00F6\u00F8-\u024F][A-Za-z0-9\u00C0-\u00D6\u00D8-\u00F6\u00F8-\u024F &'.,/+()_-]{0,63}$/;

/** Surrounding whitespace dropped and inner runs of it made one space, as the name is stored. */
export function normalizeCategory(raw: string): string {
  return raw.trim().replace(/\s+/g, ' ');
}
