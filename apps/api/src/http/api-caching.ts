import { applyDecorators } from '@nestjs/common';
import { ApiHeader, ApiResponse } from '@nestjs/swagger';
import type { HeadersObject } from '@nestjs/swagger';

const ETAG = {
  ETag: {
    description: 'strong validator from the read model version, e.g. "p-<id>-v3"; send it back in If-None-Match',
    schema: { type: 'string', maxLength: 64 },
  },
};
const cacheControl = (value: string): HeadersObject => ({
  'Cache-Control': { description: value, schema: { type: 'string', maxLength: 100 } },
});

/** Response headers of a 200 from a cacheable read (pass to ApiOkResponse's `headers`). */
export const CACHE_HEADERS = {
  public: {
    ...ETAG,
    ...cacheControl('public, max-age=5, stale-while-revalidate=30 (anonymous catalog data; varies by X-Min-Position)'),
  },
  list: cacheControl('public, max-age=5, stale-while-revalidate=30 (anonymous catalog data; varies by X-Min-Position)'),
  private: { ...ETAG, ...cacheControl('private, no-cache (only the client keeps it, and revalidates every time)') },
} as const;

/** If-None-Match and its 304 on a read with an ETag. */
export const ApiConditionalGet = (): MethodDecorator =>
  applyDecorators(
    ApiHeader({
      name: 'If-None-Match',
      required: false,
      description: 'ETags you hold; 304 without a body if the resource still has one of them',
      schema: { type: 'string', maxLength: 1024 },
    }),
    ApiResponse({
      status: 304,
      description: 'not modified: the ETag you sent is current (no body)',
      headers: { ...ETAG, 'Cache-Control': { schema: { type: 'string', maxLength: 100 } } },
    }),
  );
