import type { FastifyInstance, FastifyReply } from 'fastify';

/** Anonymous catalog reads: shared caches may keep them briefly and revalidate in the background. */
export const PUBLIC_CATALOG_CACHING = 'public, max-age=5, stale-while-revalidate=30';
/** A customer's own data: only the client keeps it, and asks again (If-None-Match) every time. */
export const PRIVATE_REVALIDATE = 'private, no-cache';

/**
 * A strong validator from the read model's version: a resource's representation changes only
 * when its version does (every event of the aggregate raises it).
 */
export function versionTag(kind: 'p' | 'o', id: string, version: number): string {
  return `"${kind}-${id}-v${version}"`;
}

/** ETag and Cache-Control on a 200; the conditional-GET hook below turns a match into a 304. */
export function cacheHeaders(reply: FastifyReply, etag: string, cacheControl: string, vary?: string): void {
  void reply.header('etag', etag);
  void reply.header('cache-control', cacheControl);
  if (vary) void reply.header('vary', vary);
}

/** RFC 9110 §13.1.2: If-None-Match uses the weak comparison; `*` matches any current representation. */
export function noneMatch(header: string | undefined, etag: string): boolean {
  if (header === undefined) return false;
  const opaque = (tag: string): string => tag.trim().replace(/^W\//, '');
  const wanted = opaque(etag);
  return header.split(',').some((candidate) => candidate.trim() === '*' || opaque(candidate) === wanted);
}

/**
 * A GET answered 200 with an ETag that the client already holds (If-None-Match) becomes a 304
 * with the same validators and no body.
 */
export function conditionalGet(fastify: FastifyInstance): void {
  fastify.addHook('onSend', async (request, reply, payload) => {
    if ((request.method !== 'GET' && request.method !== 'HEAD') || reply.statusCode !== 200) return payload;
    const etag = reply.getHeader('etag');
    const header = request.headers['if-none-match'];
    if (typeof etag !== 'string' || typeof header !== 'string' || !noneMatch(header, etag)) return payload;
    void reply.code(304);
    reply.removeHeader('content-type');
    reply.removeHeader('content-length');
    return null;
  });
}
