import { isDatabaseUnavailable, isTransientDatabaseError } from './errors.js';

describe('database error classes', () => {
  const pg = (code: string) => Object.assign(new Error(`sqlstate ${code}`), { code });

  it('tells an unavailable database from a failure of one transaction', () => {
    for (const unavailable of [
      pg('08006'), // connection failure
      pg('57P01'), // admin shutdown
      pg('53300'), // too many connections
      Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' }),
      new Error('Connection terminated unexpectedly'),
      Object.assign(new Error('wrapped'), { cause: pg('08001') }),
    ]) {
      expect([unavailable.message, isDatabaseUnavailable(unavailable)]).toEqual([unavailable.message, true]);
      expect(isTransientDatabaseError(unavailable)).toBe(true);
    }
    for (const conflict of [pg('40P01'), pg('40001'), pg('55P03'), pg('57014')]) {
      expect([conflict.message, isDatabaseUnavailable(conflict)]).toEqual([conflict.message, false]);
      expect(isTransientDatabaseError(conflict)).toBe(true);
    }
    for (const other of [pg('23505'), new Error('event is not in event_log'), undefined]) {
      expect(isDatabaseUnavailable(other)).toBe(false);
      expect(isTransientDatabaseError(other)).toBe(false);
    }
  });
});
