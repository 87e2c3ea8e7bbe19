import { ParseUUIDPipe } from '@nestjs/common';
import { ProblemException } from './problem.js';

/** A malformed id names no resource: 404, the same answer as for an id that does not exist. */
export const ResourceId = (): ParseUUIDPipe =>
  new ParseUUIDPipe({ exceptionFactory: () => new ProblemException(404, 'not-found', 'no resource has this id') });

/** `If-Match: 3` or `If-Match: "3"` (an entity tag holding the version). */
export function parseIfMatch(header: string | undefined): number | undefined {
  if (header === undefined) return undefined;
  const match = /^(?:W\/)?"?(\d{1,9})"?$/.exec(header.trim());
  if (!match) throw new ProblemException(400, 'invalid-if-match', 'If-Match must be the version the client last saw');
  return Number(match[1]);
}
