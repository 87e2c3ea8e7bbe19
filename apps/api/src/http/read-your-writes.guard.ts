import { setTimeout as delay } from 'node:timers/promises';
import {
  applyDecorators,
  Injectable,
  SetMetadata,
  UseGuards,
  type CanActivate,
  type ExecutionContext,
} from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { FastifyRequest } from 'fastify';
import { AppConfig } from '@emporium/config';
import { ProjectionProgress } from '@emporium/projections';
import { ProblemException } from './problem.js';

const READ_MODEL = 'emporium:read-model';
const MAX_WAITERS = 200;

export interface ReadModelRef {
  projection: string;
  eventTypes: readonly string[];
}

/** A request to a query route, as the problem filter sees it. */
export interface ReadModelRequest extends FastifyRequest {
  /** The projection serving this route (set for every query route, header or not). */
  readModel?: string;
}

/**
 * Marks a query route as served by a projection, enabling `X-Min-Position`. The guard is bound to
 * these routes only, after the global ones (rate limit, authentication, roles).
 */
export const ReadModel = (projection: string, eventTypes: readonly string[]): MethodDecorator =>
  applyDecorators(
    SetMetadata(READ_MODEL, { projection, eventTypes } satisfies ReadModelRef),
    UseGuards(ReadYourWritesGuard),
  );

/**
 * `X-Min-Position: <position>` on a query: the request proceeds only once the projection has
 * applied that command's events, waiting at most READ_YOUR_WRITES_TIMEOUT_MS; then 503 with
 * Retry-After. A guard rather than an interceptor: it only decides when the handler may run, and
 * a route with any interceptor pays Nest's rxjs pipeline on every request, header or not
 * (BENCHMARKS.md).
 */
@Injectable()
export class ReadYourWritesGuard implements CanActivate {
  /** Requests currently waiting; capped so waiting cannot be used to pile up database polls. */
  private waiting = 0;

  constructor(
    private readonly reflector: Reflector,
    private readonly progress: ProjectionProgress,
    private readonly config: AppConfig,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const request = context.switchToHttp().getRequest<FastifyRequest>();
    const header = request.headers['x-min-position'];
    const ref = this.reflector.get<ReadModelRef | undefined>(READ_MODEL, context.getHandler());
    if (ref) (request as ReadModelRequest).readModel = ref.projection;
    if (header === undefined || !ref) return true;
    if (typeof header !== 'string' || !/^[1-9]\d{0,17}$/.test(header)) {
      throw new ProblemException(
        400,
        'invalid-min-position',
        'X-Min-Position must be a position returned by a command',
      );
    }
    if (this.waiting >= MAX_WAITERS) {
      throw new ProblemException(
        503,
        'read-model-behind',
        'too many requests are waiting for read models',
        {},
        { 'retry-after': '1' },
      );
    }
    this.waiting += 1;
    try {
      await this.waitFor(ref, header);
      return true;
    } finally {
      this.waiting -= 1;
    }
  }

  private async waitFor(ref: ReadModelRef, position: string): Promise<void> {
    const deadline = Date.now() + this.config.readYourWritesTimeoutMs;
    for (let pause = 5; ; pause = Math.min(pause * 2, 100)) {
      const state = await this.progress.state(ref.projection, ref.eventTypes, position);
      if (state === 'applied') return;
      if (state === 'unknown') {
        throw new ProblemException(400, 'unknown-position', `no command produced position ${position}`);
      }
      if (Date.now() + pause > deadline) {
        throw new ProblemException(
          503,
          'read-model-behind',
          `the ${ref.projection} read model has not caught up with position ${position} yet`,
          {},
          { 'retry-after': '1' },
        );
      }
      await delay(pause);
    }
  }
}
