import type { FastifyInstance } from 'fastify';
import secureJson from 'secure-json-parse';

class BodyError extends Error {
  constructor(
    readonly statusCode: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/**
 * The API takes JSON and nothing else (415 otherwise). Prototype-poisoning keys (`__proto__`,
 * `constructor.prototype`) are refused with a 400 that names them, before any code sees the body.
 */
export function acceptJsonOnly(fastify: FastifyInstance, bodyLimit: number): void {
  fastify.removeAllContentTypeParsers();
  fastify.addContentTypeParser('application/json', { parseAs: 'string', bodyLimit }, (_request, body, done) => {
    const text = String(body);
    if (text.trim() === '') {
      done(null, undefined);
      return;
    }
    try {
      done(null, secureJson.parse(text, undefined, { protoAction: 'error', constructorAction: 'error' }));
    } catch (error) {
      const message = (error as Error).message;
      if (/prototype property/i.test(message)) {
        const key = /"__proto__"\s*:/.test(text) ? '__proto__' : 'constructor.prototype';
        done(new BodyError(400, 'EMPORIUM_FORBIDDEN_KEY', `request body contains the forbidden key ${key}`), undefined);
      } else {
        done(new BodyError(400, 'EMPORIUM_INVALID_JSON', 'request body is not valid JSON'), undefined);
      }
    }
  });
}
