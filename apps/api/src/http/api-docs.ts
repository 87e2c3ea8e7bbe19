import { applyDecorators } from '@nestjs/common';
import { ApiBearerAuth, ApiHeader, ApiResponse } from '@nestjs/swagger';
import { ProblemDto } from './common.dto.js';

const problem = (status: number, description: string): MethodDecorator =>
  ApiResponse({
    status,
    description,
    content: { 'application/problem+json': { schema: { $ref: '#/components/schemas/ProblemDto' } } },
  });

/** Documents the errors a route can answer, all as problem+json. */
export function ApiProblems(...statuses: Array<[number, string]>): MethodDecorator {
  return applyDecorators(...statuses.map(([status, description]) => problem(status, description)));
}

export function ApiAuthenticated(): MethodDecorator & ClassDecorator {
  return applyDecorators(ApiBearerAuth(), problem(401, 'missing, invalid or expired token'));
}

export const ApiMinPosition = (): MethodDecorator =>
  ApiHeader({
    name: 'X-Min-Position',
    schema: { type: 'string', pattern: '^[1-9][0-9]{0,17}$', maxLength: 18 },
    required: false,
    description: 'wait until this command position is visible (read-your-writes)',
  });

export { ProblemDto };

/**
 * A query's 404 for one resource. Right after a command the read model may not have it yet: the
 * answer then says to send X-Min-Position (ProblemFilter adds that to the detail).
 */
export const NOT_YET_READABLE = (resource: string, qualifier = ''): string =>
  `no such ${resource}${qualifier}; right after creating it, send the command's position as X-Min-Position ` +
  'to wait until it is readable';
