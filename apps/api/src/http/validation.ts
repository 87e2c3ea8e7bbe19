import { ValidationPipe, type ValidationError } from '@nestjs/common';
import { ProblemException } from './problem.js';

export interface FieldError {
  field: string;
  message: string;
}

interface ExpectedType {
  noun: string;
  accepts(value: unknown): boolean;
}

const STRING: ExpectedType = { noun: 'a string', accepts: (value) => typeof value === 'string' };
const INTEGER: ExpectedType = {
  noun: 'an integer',
  accepts: (value) => typeof value === 'number' && Number.isInteger(value),
};
const BOOLEAN: ExpectedType = { noun: 'true or false', accepts: (value) => typeof value === 'boolean' };
const ARRAY: ExpectedType = { noun: 'an array', accepts: (value) => Array.isArray(value) };

/** The JSON type a constraint implies: a value of another type gets one message saying so. */
const EXPECTED_BY_CONSTRAINT: Record<string, ExpectedType> = {
  isInt: INTEGER,
  isString: STRING,
  matches: STRING,
  isLength: STRING,
  minLength: STRING,
  maxLength: STRING,
  isEmail: STRING,
  isUuid: STRING,
  isIso8601: STRING,
  isBoolean: BOOLEAN,
  isArray: ARRAY,
  arrayMinSize: ARRAY,
  arrayMaxSize: ARRAY,
};

function kindOf(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'object') return 'an object';
  if (typeof value === 'number' && Number.isNaN(value)) return 'not a number';
  return `a ${typeof value}`;
}

/** class-validator's wording, made grammatical where it is not ("at least 1 elements"). */
function polished(message: string): string {
  return message.replace(/\b1 elements\b/g, '1 element');
}

/**
 * What is wrong with one field, most basic first: missing, then of the wrong type (one message:
 * a range or pattern says nothing useful about a string where a number belongs), else every rule
 * it breaks. Values are never echoed (a field may be a password).
 */
function describe(error: ValidationError, field: string): Array<FieldError & { rank: number }> {
  const constraints = error.constraints ?? {};
  const names = Object.keys(constraints);
  if (names.length === 0) return [];
  // "property roles should not exist": the allow-list speaks for itself.
  if (names.includes('whitelistValidation')) {
    return Object.values(constraints).map((message) => ({ field, message, rank: 3 }));
  }
  if (error.value === undefined || error.value === null) {
    return [{ field, message: `${field} is required`, rank: 0 }];
  }
  const expected = names.map((name) => EXPECTED_BY_CONSTRAINT[name]).find((type) => type !== undefined);
  if (expected && !expected.accepts(error.value)) {
    const actual = kindOf(error.value);
    // A number where an integer belongs (2.5, or a query parameter that is no number) needs no "got".
    const got = expected === INTEGER && typeof error.value === 'number' ? '' : `, not ${actual}`;
    return [{ field, message: `${field} must be ${expected.noun}${got}`, rank: 1 }];
  }
  return Object.values(constraints).map((message) => ({ field, message: polished(message), rank: 2 }));
}

function collect(errors: ValidationError[], parent = ''): Array<FieldError & { rank: number }> {
  return errors.flatMap((error) => {
    const field = parent ? `${parent}.${error.property}` : error.property;
    return [...describe(error, field), ...collect(error.children ?? [], field)];
  });
}

/** Field errors for a client: what is missing first, then what has the wrong type, then the rest. */
export function fieldErrors(errors: ValidationError[]): FieldError[] {
  return collect(errors)
    .map((error, index) => ({ ...error, index }))
    .sort((a, b) => a.rank - b.rank || a.index - b.index)
    .map(({ field, message }) => ({ field, message }));
}

/**
 * DTOs are allow-lists: unknown fields are a 400 naming them, not silently dropped, so a client
 * sending `roles` or `totalCents` learns at once that it cannot set them.
 */
export function createValidationPipe(): ValidationPipe {
  return new ValidationPipe({
    whitelist: true,
    forbidNonWhitelisted: true,
    forbidUnknownValues: true,
    transform: true,
    // Values are kept so the messages can tell missing from mistyped; they are never sent back.
    validationError: { target: false, value: true },
    exceptionFactory: (errors) => {
      const list = fieldErrors(errors);
      return new ProblemException(400, 'validation-failed', list.map((e) => e.message).join('; '), { errors: list });
    },
  });
}
