import { createHash } from 'node:crypto';
import { Injectable, type CallHandler, type ExecutionContext, type NestInterceptor } from '@nestjs/common';
import { HTTP_CODE_METADATA } from '@nestjs/common/constants.js';
import { Reflector } from '@nestjs/core';
import { MikroORM } from '@mikro-orm/postgresql';
import type { FastifyReply } from 'fastify';
import { sql } from 'kysely';
import { from, lastValueFrom, type Observable } from 'rxjs';
import type { AuthenticatedRequest } from '../auth/auth.decorators.js';
import { ProblemException, toProblem, type Problem } from './problem.js';

const KEY = /^[A-Za-z0-9_.:-]{1,255}$/;

interface StoredResponse {
  request_hash: string;
  status_code: number | null;
  response_body: unknown;
}

/**
 * `Idempotency-Key` on POST: the first response (2xx or 4xx) is stored and replayed for a
 * repeat with the same body; the same key with another body is a 422; a repeat while the first
 * is still running is a 409. A 5xx is not stored, so the client may retry it.
 */
@Injectable()
export class IdempotencyInterceptor implements NestInterceptor {
  constructor(
    private readonly orm: MikroORM,
    private readonly reflector: Reflector,
  ) {}

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    const request = context.switchToHttp().getRequest<AuthenticatedRequest>();
    const header = request.headers['idempotency-key'];
    if (request.method !== 'POST' || header === undefined) return next.handle();
    return from(this.handle(context, request, header, next));
  }

  private async handle(
    context: ExecutionContext,
    request: AuthenticatedRequest,
    header: string | string[],
    next: CallHandler,
  ): Promise<unknown> {
    if (typeof header !== 'string' || !KEY.test(header)) {
      throw new ProblemException(
        400,
        'invalid-idempotency-key',
        'Idempotency-Key must be 1-255 characters of [A-Za-z0-9_.:-]',
      );
    }
    const actor = request.user?.id ?? 'anonymous';
    const path = request.url.split('?')[0];
    const hash = createHash('sha256')
      .update(`${request.method} ${path}\n${JSON.stringify(request.body ?? null)}`)
      .digest('hex');
    const db = this.orm.em.fork().getKysely();
    const inserted = await sql`insert into idempotency_keys (actor, key, method, path, request_hash)
        values (${actor}, ${header}, ${request.method}, ${path}, ${hash}) on conflict do nothing`.execute(db);

    if (inserted.numAffectedRows === 0n) {
      const { rows } = await sql<StoredResponse>`select request_hash, status_code, response_body from idempotency_keys
          where actor = ${actor} and key = ${header}`.execute(db);
      const stored = rows[0];
      if (!stored)
        throw new ProblemException(
          409,
          'idempotency-key-in-progress',
          'retry this request',
          {},
          { 'retry-after': '1' },
        );
      if (stored.request_hash !== hash) {
        throw new ProblemException(
          422,
          'idempotency-key-reused',
          'this Idempotency-Key was used with a different request',
        );
      }
      if (stored.status_code === null) {
        throw new ProblemException(
          409,
          'idempotency-key-in-progress',
          'the first request with this key is still running',
          {},
          {
            'retry-after': '1',
          },
        );
      }
      const reply = context.switchToHttp().getResponse<FastifyReply>();
      void reply.header('idempotent-replayed', 'true');
      if (stored.status_code >= 400) {
        const problem = stored.response_body as Problem;
        const { code, detail, type: _type, title: _title, status: _status, instance: _instance, ...rest } = problem;
        throw new ProblemException(stored.status_code, code, detail, rest);
      }
      return stored.response_body;
    }

    try {
      const body: unknown = await lastValueFrom(next.handle(), { defaultValue: undefined });
      const status = this.reflector.get<number | undefined>(HTTP_CODE_METADATA, context.getHandler()) ?? 201;
      await this.complete(actor, header, status, body);
      return body;
    } catch (error) {
      const { problem } = toProblem(error);
      if (problem.status >= 500) {
        await sql`delete from idempotency_keys where actor = ${actor} and key = ${header}`.execute(
          this.orm.em.fork().getKysely(),
        );
      } else {
        await this.complete(actor, header, problem.status, problem);
      }
      throw error;
    }
  }

  private async complete(actor: string, key: string, status: number, body: unknown): Promise<void> {
    await sql`update idempotency_keys set status_code = ${status}, response_body = ${JSON.stringify(body ?? null)}::jsonb,
        completed_at = now() where actor = ${actor} and key = ${key}`.execute(this.orm.em.fork().getKysely());
  }
}
