import { setTimeout as delay } from 'node:timers/promises';
import {
  applyDecorators,
  Injectable,
  SetMetadata,
  UseInterceptors,
  type CallHandler, type ExecutionContext, type NestInterceptor } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { FastifyRequest } from 'fastify';
import { from, switchMap, type Observable } from 'rxjs';
import { AppConfig } from '@emporium/config';
import { ProjectionProgress } from '@emporium/messaging';
import { ProblemException } from './problem.js';

const READ_MODEL = 'emporium:read-model';
const MAX_WAITERS = 200;

export interface ReadModelRef {
  projection: string;
  eventTypes: readonly string[];
}

/**
 * Marks a query route as served by a projection, enabling `X-Min-Position`. The interceptor is
 * bound to these routes only (not global): on every other route it had nothing to do but still
 * cost an rxjs pipeline per request.
 */
export const ReadModel = (projection: string, eventTypes: readonly string[]): MethodDecorator =>
  applyDecorators(
    SetMetadata(READ_MODEL, { projection, eventTypes } satisfies ReadModelRef),
    UseInterceptors(ReadYourWritesInterceptor),
  );

/**
 * `X-Min-Position: <position>` on a query: answer only once the projection has applied that
 * command's events, waiting at most READ_YOUR_WRITES_TIMEOUT_MS; then 503 with Retry-After.
 */
@Injectable()
export class ReadYourWritesInterceptor implements NestInterceptor {
  /** Requests currently waiting; capped so waiting cannot be used to pile up database polls. */
  private waiting = 0;

  constructor(
    private readonly reflector: Reflector,
    private readonly progress: ProjectionProgress,
    private readonly config: AppConfig,
  ) {}

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    const request = context.switchToHttp().getRequest<FastifyRequest>();
    const header = request.headers['x-min-position'];
    const ref = this.reflector.get<ReadModelRef | undefined>(READ_MODEL, context.getHandler());
    if (header === undefined || !ref) return next.handle();
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
    return from(this.waitFor(ref, header).finally(() => (this.waiting -= 1))).pipe(switchMap(() => next.handle()));
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
