import type { INestApplication } from '@nestjs/common';
import { DocumentBuilder, SwaggerModule, type OpenAPIObject } from '@nestjs/swagger';
import { ProblemDto } from './http/common.dto.js';

type Responses = Record<string, { description: string; headers?: Record<string, unknown>; content?: unknown }>;

const PROBLEM = { 'application/problem+json': { schema: { $ref: '#/components/schemas/ProblemDto' } } };
const integerHeader = (description: string): unknown => ({
  description,
  schema: { type: 'integer', format: 'int32', minimum: 0, maximum: 2_147_483_647 },
});
const CORS_HEADER = {
  'Access-Control-Allow-Origin': {
    description: 'present only for origins in CORS_ORIGINS (browser clients); never a wildcard',
    schema: { type: 'string', format: 'uri', maxLength: 2048 },
  },
};
const RATE_LIMIT_HEADERS = {
  'X-RateLimit-Limit': integerHeader('requests allowed per window for this client'),
  'X-RateLimit-Remaining': integerHeader('requests left in the current window'),
  'X-RateLimit-Reset': integerHeader('seconds until the window resets'),
};

/**
 * Facts that hold for every operation because a global guard or filter makes them so: the rate
 * limit headers and the 429, the 500 problem document, the 401 of every secured route. Added
 * here once rather than repeated on 17 handlers.
 */
function describeGlobalBehaviour(document: OpenAPIObject): OpenAPIObject {
  // A public API, meant for clients outside the deployment.
  document.servers = [
    {
      url: '/',
      description: 'the deployment serving this document (local, staging or production)',
      'x-internal': false,
    } as never,
  ];
  for (const item of Object.values(document.paths)) {
    type Parameter = { name: string; in: string; schema?: Record<string, unknown> };
    for (const operation of Object.values(
      item as Record<string, { responses: Responses; security?: unknown[]; parameters?: Parameter[] }>,
    )) {
      // Every `:id` goes through the ResourceId pipe: a UUID, or 404.
      for (const parameter of operation.parameters ?? []) {
        if (parameter.in === 'path' && parameter.name === 'id') {
          parameter.schema = { type: 'string', format: 'uuid', maxLength: 36 };
        }
      }
      const responses = operation.responses;
      responses['429'] = {
        description: responses['429']?.description ?? 'rate limit exceeded',
        headers: { 'Retry-After': integerHeader('seconds to wait before retrying') },
        content: PROBLEM,
      };
      responses['500'] ??= { description: 'unexpected failure (no internals are disclosed)', content: PROBLEM };
      const unavailable =
        'a dependency is unavailable (the database restarting, say): retry after Retry-After seconds; a command ' +
        'retried with the same Idempotency-Key runs at most once';
      responses['503'] = {
        description: responses['503'] ? `${responses['503'].description}; or ${unavailable}` : unavailable,
        headers: { 'Retry-After': integerHeader('seconds to wait before retrying'), ...responses['503']?.headers },
        content: PROBLEM,
      };
      if (operation.security?.length)
        responses['401'] ??= { description: 'missing, invalid or expired token', content: PROBLEM };
      if ((operation as { requestBody?: unknown }).requestBody) {
        responses['413'] ??= { description: 'body larger than BODY_LIMIT_BYTES', content: PROBLEM };
        responses['415'] ??= { description: 'body is not application/json', content: PROBLEM };
      }
      for (const [status, response] of Object.entries(responses)) {
        const rateLimited = /^[24]/.test(status) ? RATE_LIMIT_HEADERS : {};
        response.headers = { ...CORS_HEADER, ...rateLimited, ...response.headers };
      }
    }
  }
  return document;
}

export function buildOpenApiDocument(app: INestApplication): OpenAPIObject {
  const config = new DocumentBuilder()
    .setTitle('Emporium API')
    .setDescription(
      'CQRS e-commerce backend. Commands return an event-log `position`; send it as `X-Min-Position` on a query ' +
        'to read your own write. Errors are application/problem+json (RFC 9457).',
    )
    .setVersion('1.0.0')
    .addTag('auth', 'registration, login and the current user')
    .addTag('products', 'the catalog: admin commands and public queries')
    .addTag('orders', 'placing and following orders')
    .addTag('sales', 'daily sales report (admin)')
    .addBearerAuth({
      type: 'http',
      scheme: 'bearer',
      bearerFormat: 'JWT',
      description:
        'A JWS access token from POST /api/v1/auth/login, following RFC8725: one configured algorithm ' +
        '(never "none"), required exp, checked iss and aud, accepted only in the Authorization header.',
    })
    .build();
  return describeGlobalBehaviour(SwaggerModule.createDocument(app, config, { extraModels: [ProblemDto] }));
}

/** Serves the UI at /docs and the document at /docs-json. */
export function serveOpenApi(app: INestApplication, document: OpenAPIObject): void {
  SwaggerModule.setup('docs', app, document, { jsonDocumentUrl: 'docs-json', yamlDocumentUrl: 'docs-yaml' });
}
