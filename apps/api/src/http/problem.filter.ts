import { Catch, type ArgumentsHost, type ExceptionFilter } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import { DomainError } from '@emporium/domain';
import { toProblem, type Problem } from './problem.js';
import type { ReadModelRequest } from './read-your-writes.guard.js';

export const PROBLEM_CONTENT_TYPE = 'application/problem+json';

/** Every error leaves as application/problem+json; this is the only place statuses are chosen. */
@Catch()
export class ProblemFilter implements ExceptionFilter {
  catch(error: unknown, host: ArgumentsHost): void {
    if (host.getType() !== 'http') throw error;
    const http = host.switchToHttp();
    const reply = http.getResponse<FastifyReply>();
    const request = http.getRequest<ReadModelRequest>();
    const { problem, headers } = toProblem(error);
    if (notYetReadable(error, problem, request)) {
      problem.detail +=
        '. If it was just created, its read model may not have it yet: send the position the command returned ' +
        'as the X-Min-Position header to wait for it';
    }
    void reply
      .status(problem.status)
      .headers(headers)
      .header('content-type', PROBLEM_CONTENT_TYPE)
      .send({ ...problem, instance: request.url.split('?')[0] });
  }
}

/**
 * A query's "no such resource" where the client did not ask to read its own write: right after a
 * create that is most often the read model not having caught up yet, which the detail then says.
 */
function notYetReadable(error: unknown, problem: Problem, request: ReadModelRequest): boolean {
  return (
    error instanceof DomainError &&
    problem.status === 404 &&
    request.readModel !== undefined &&
    request.headers['x-min-position'] === undefined
  );
}
