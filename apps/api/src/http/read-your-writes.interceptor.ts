import { setTimeout as delay } from 'node:timers/promises';
import { Injectable, SetMetadata, type CallHandler, type ExecutionContext, type NestInterceptor } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { FastifyRequest } from 'fastify';
import { from, switchMap, type Observable } from 'rxjs';
import { AppConfig } from '@emporium/config';
import { ProjectionProgress } from '@emporium/messaging';
import { ProblemException } from './problem.js';

const READ_MODEL = 'emporium:read-model';

export interface ReadModelRef {
  projection: string;
  eventTypes: readonly string[];
}

/** Marks a query route as served by a projection, enabling `X-Min-Position`. */
export const ReadModel = (projection: string, eventTypes: readonly string[]): MethodDecorator =>
  SetMetadata(READ_MODEL, { projection, eventTypes } satisfies ReadModelRef);

/**
 * `X-Min-Position: <position>` on a query: answer only once the projection has applied that
 * command's events, waiting at most READ_YOUR_WRITES_TIMEOUT_MS; then 503 with Retry-After.
 */
@Injectable()
export class ReadYourWritesInterceptor implements NestInterceptor {
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
    if (typeof header !== 'string' || !/^[1-9]\d{0,18}$/.test(header)) {
      throw new ProblemException(
        400,
        'invalid-min-position',
        'X-Min-Position must be a position returned by a command',
      );
    }
    return from(this.waitFor(ref, header)).pipe(switchMap(() => next.handle()));
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
