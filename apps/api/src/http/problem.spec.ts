import { UnsupportedMediaTypeException } from '@nestjs/common';
import { DriverException } from '@mikro-orm/core';
import { toProblem } from './problem.js';

describe('toProblem', () => {
  const database = (message: string, code?: string): Error => Object.assign(new Error(message), { code });

  it.each([
    ['a connection refused', database('connect ECONNREFUSED 127.0.0.1:5432', 'ECONNREFUSED')],
    ['a connection dropped mid-query', database('Connection terminated unexpectedly')],
    [
      'an administrator shutting the server down',
      database('terminating connection due to administrator command', '57P01'),
    ],
    ['a server shutting down', database('the database system is shutting down', '57P03')],
    ['a server starting up', database('the database system is starting up', '57P03')],
    ['a full pool', database('timeout exceeded when trying to connect')],
    [
      'a pooled client broken by the restart',
      database('Client has encountered a connection error and is not queryable'),
    ],
    ['too many connections', database('sorry, too many clients already', '53300')],
    [
      'the same wrapped by the ORM',
      Object.assign(new DriverException(database('terminating connection due to administrator command', '57P01')), {
        code: undefined,
      }),
    ],
  ])('answers %s with 503 and Retry-After, never a 500', (_what, error) => {
    const { problem, headers } = toProblem(error, false);
    expect(problem).toMatchObject({ status: 503, code: 'database-unavailable' });
    expect(Number(headers['retry-after'])).toBeGreaterThan(0);
    expect(JSON.stringify(problem)).not.toMatch(/5432|administrator|terminat/);
  });

  it('keeps a statement timeout a 500: a query to fix, not an outage', () => {
    expect(toProblem(database('canceling statement due to statement timeout', '57014'), false).problem.status).toBe(
      500,
    );
  });

  it('keeps anything else a 500 that says nothing about internals', () => {
    const { problem, headers } = toProblem(new TypeError('x is undefined'), false);
    expect(problem).toMatchObject({ status: 500, code: 'internal-error' });
    expect(headers).toEqual({});
  });

  it.each([
    ['raised by Nest', new UnsupportedMediaTypeException()],
    [
      'raised by Fastify',
      Object.assign(new Error('Unsupported Media Type: text/plain'), {
        statusCode: 415,
        code: 'FST_ERR_CTP_INVALID_MEDIA_TYPE',
      }),
    ],
  ])('tells a client with the wrong content type (%s) to send application/json', (_by, error) => {
    const { problem } = toProblem(error, false);
    expect(problem).toMatchObject({ status: 415, code: 'unsupported-media-type' });
    expect(problem.detail).toMatch(/Content-Type: application\/json/);
  });
});
