import { HttpException, HttpStatus, Logger } from '@nestjs/common';
import { isDatabaseUnavailable } from '@emporium/database';
import { DomainError, type DomainErrorKind } from '@emporium/domain';

/** RFC 9457 problem details, the body of every error this API returns. */
export interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  code: string;
  instance?: string;
  errors?: Array<{ field: string; message: string }>;
  [extension: string]: unknown;
}

const STATUS_BY_KIND: Record<DomainErrorKind, number> = {
  invalid: 400,
  unauthorized: 401,
  forbidden: 403,
  'not-found': 404,
  conflict: 409,
  'precondition-failed': 412,
  unprocessable: 422,
};

/** Thrown by the edge itself (validation, idempotency, read-your-writes) with a ready problem. */
export class ProblemException extends HttpException {
  constructor(
    status: number,
    code: string,
    detail: string,
    extensions: Record<string, unknown> = {},
    readonly headers: Record<string, string> = {},
  ) {
    super({ code, detail, ...extensions }, status);
  }
}

const logger = new Logger('Problem');

const UNSUPPORTED_MEDIA_TYPE =
  'unsupported content type: send the body as JSON with the header Content-Type: application/json';

/** What a 503 for an unavailable database asks clients to wait (a restart takes a few seconds). */
const DATABASE_RETRY_AFTER_SECONDS = 2;

function title(status: number): string {
  const name = HttpStatus[status] as string | undefined;
  return name
    ? name.toLowerCase().replace(/(^|_)(\w)/g, (_, sep: string, c: string) => (sep ? ' ' : '') + c.toUpperCase())
    : 'Error';
}

function problem(status: number, code: string, detail: string, extensions: Record<string, unknown> = {}): Problem {
  return { type: `/problems/${code}`, title: title(status), status, detail, code, ...extensions };
}

/**
 * Maps anything thrown to a problem document. Only domain errors and deliberate HTTP errors
 * say what went wrong; anything else is a 500 with no internals (logged with its stack).
 */
export function toProblem(error: unknown, log = true): { problem: Problem; headers: Record<string, string> } {
  if (error instanceof DomainError) {
    return {
      problem: problem(STATUS_BY_KIND[error.kind], error.code, error.message, error.details ?? {}),
      headers: {},
    };
  }
  if (error instanceof ProblemException) {
    const body = error.getResponse() as { code: string; detail: string };
    const { code, detail, ...extensions } = body;
    return { problem: problem(error.getStatus(), code, detail, extensions), headers: error.headers };
  }
  if (error instanceof HttpException) {
    const status = error.getStatus();
    const body = error.getResponse();
    // A failing health check: keep terminus' report (which check failed, and why) in the problem.
    if (typeof body === 'object' && 'details' in body && 'info' in body) {
      const report = body as { info?: unknown; error?: unknown; details?: unknown };
      const failed = Object.keys(report.error ?? {}).join(', ');
      return {
        problem: problem(status, 'unhealthy', `failing checks: ${failed || 'unknown'}`, {
          info: report.info,
          error: report.error,
          details: report.details,
        }),
        headers: {},
      };
    }
    const message = typeof body === 'string' ? body : (body as { message?: unknown }).message;
    const detail = Array.isArray(message)
      ? message.map(String).join('; ')
      : typeof message === 'string'
        ? message
        : error.message;
    const code = HttpStatus[status]?.toLowerCase().replace(/_/g, '-') ?? 'error';
    return { problem: problem(status, code, status === 415 ? UNSUPPORTED_MEDIA_TYPE : detail), headers: {} };
  }
  // Errors raised by Fastify before routing: malformed JSON, body too large, bad content type.
  const fastify = error as { statusCode?: number; code?: string; message?: string };
  if (typeof fastify.statusCode === 'number' && fastify.statusCode >= 400 && fastify.statusCode < 500) {
    const detail =
      fastify.code === 'FST_ERR_CTP_BODY_TOO_LARGE'
        ? 'request body is too large'
        : fastify.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE'
          ? UNSUPPORTED_MEDIA_TYPE
          : fastify.code?.startsWith('FST_ERR_CTP')
            ? 'request body is not valid JSON'
            : (fastify.message ?? 'bad request');
    const code = HttpStatus[fastify.statusCode]?.toLowerCase().replace(/_/g, '-') ?? 'bad-request';
    return {
      problem: problem(fastify.statusCode, code, fastify.statusCode === 415 ? UNSUPPORTED_MEDIA_TYPE : detail),
      headers: {},
    };
  }
  // The database is down, restarting, out of connections or resources, or the connection broke:
  // nothing the client did, and worth a retry (with the same Idempotency-Key, a retried command
  // runs at most once). A lost lock race is retried inside the command (then 409); a statement
  // timeout stays a 500, logged with its stack: it is a query to fix, not an outage.
  if (isDatabaseUnavailable(error)) {
    if (log) logger.warn(`database unavailable: ${error instanceof Error ? error.message : String(error)}`);
    return {
      problem: problem(503, 'database-unavailable', 'the database is unavailable right now; retry shortly'),
      headers: { 'retry-after': String(DATABASE_RETRY_AFTER_SECONDS) },
    };
  }
  if (log) logger.error(error instanceof Error ? (error.stack ?? error.message) : String(error));
  return { problem: problem(500, 'internal-error', 'the server failed to handle this request'), headers: {} };
}
