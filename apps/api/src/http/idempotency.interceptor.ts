import { createHmac, randomUUID } from 'node:crypto';
import {
  Injectable,
  Logger,
  SetMetadata,
  UseInterceptors,
  applyDecorators,
  type CallHandler,
  type ExecutionContext,
  type NestInterceptor,
  type OnModuleDestroy,
  type OnModuleInit,
} from '@nestjs/common';
import { HTTP_CODE_METADATA } from '@nestjs/common/constants.js';
import { Reflector } from '@nestjs/core';
import { ApiHeader } from '@nestjs/swagger';
import { ApiProblems } from './api-docs.js';
import { applyCommandHeaders, commandResponseOptions } from './command-response.js';
import { MikroORM } from '@mikro-orm/postgresql';
import type { FastifyReply } from 'fastify';
import { sql } from 'kysely';
import { from, lastValueFrom, type Observable } from 'rxjs';
import { AppConfig } from '@emporium/config';
import type { IdempotencyClaim } from '@emporium/domain';
import type { AuthenticatedRequest } from '../auth/auth.decorators.js';
import { ProblemException, toProblem, type Problem } from './problem.js';

const IDEMPOTENT = 'emporium:idempotent';
const KEY = /^[A-Za-z0-9_.:-]{1,255}$/;
const RETENTION_HOURS = 24;

/**
 * The route accepts `Idempotency-Key` (commands only: never login, which returns a secret). The
 * interceptor is bound to these routes only: elsewhere it ignored the header anyway.
 */
export const Idempotent = (): MethodDecorator =>
  applyDecorators(
    SetMetadata(IDEMPOTENT, true),
    UseInterceptors(IdempotencyInterceptor),
    ApiProblems(
      [400, 'invalid input, or a malformed Idempotency-Key'],
      [409, 'a conflict, or the first request with this Idempotency-Key is still running'],
      [422, 'this Idempotency-Key was used with a different request'],
    ),
    ApiHeader({
      name: 'Idempotency-Key',
      schema: { type: 'string', pattern: '^[A-Za-z0-9_.:-]{1,255}$', maxLength: 255 },
      required: false,
      description: 'replays the first response to a repeat of this request (same body) for 24 hours',
    }),
  );

export interface IdempotentRequest extends AuthenticatedRequest {
  idempotency?: IdempotencyClaim;
}

interface StoredResponse {
  request_hash: string;
  status_code: number | null;
}

/**
 * `Idempotency-Key` on command routes. The key is claimed before the command runs; the unit of
 * work records the command's result under it inside the command's transaction, so a committed
 * command is always replayed, never run twice, even if this process dies right after the commit.
 * A 4xx is stored and replayed too; a 5xx releases the claim unless the command committed.
 * The same key with a different request is a 422; a repeat while the first runs is a 409.
 */
@Injectable()
export class IdempotencyInterceptor implements NestInterceptor, OnModuleInit, OnModuleDestroy {
  private readonly logger = new Logger(IdempotencyInterceptor.name);
  private pruneTimer: NodeJS.Timeout | undefined;

  /** A claim older than this with no result belongs to a request that died: it may be taken over. */
  private readonly leaseSeconds: number;

  constructor(
    private readonly orm: MikroORM,
    private readonly reflector: Reflector,
    private readonly config: AppConfig,
  ) {
    // Longer than any request can live (the server cuts requests off at REQUEST_TIMEOUT_MS).
    this.leaseSeconds = Math.ceil((2 * config.http.requestTimeoutMs) / 1000);
  }

  onModuleInit(): void {
    this.pruneTimer = setInterval(() => void this.prune(), 10 * 60_000);
    this.pruneTimer.unref();
  }

  onModuleDestroy(): void {
    clearInterval(this.pruneTimer);
  }

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    const request = context.switchToHttp().getRequest<IdempotentRequest>();
    const header = request.headers['idempotency-key'];
    if (header === undefined || !this.reflector.get<boolean>(IDEMPOTENT, context.getHandler())) return next.handle();
    return from(this.handle(context, request, header, next));
  }

  private db() {
    return this.orm.em.fork().getKysely();
  }

  private async handle(
    context: ExecutionContext,
    request: IdempotentRequest,
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
    // Keys are per client: per user, or per address for anonymous requests.
    const actor = request.user?.id ?? `anonymous:${request.ip}`;
    const path = request.url.split('?')[0];
    // Keyed: the stored fingerprint of a body (which may hold a password) cannot be brute-forced offline.
    const hash = createHmac('sha256', this.config.jwt.signingKey)
      .update(`idempotency\n${request.method} ${path}\n${JSON.stringify(request.body ?? null)}`)
      .digest('hex');
    const token = randomUUID();

    const claimed = await sql<{ claimed: boolean }>`
      insert into idempotency_keys (actor, key, method, path, request_hash, claim_token)
      values (${actor}, ${header}, ${request.method}, ${path}, ${hash}, ${token})
      on conflict (actor, key) do update set created_at = now(), claim_token = excluded.claim_token
        where idempotency_keys.status_code is null
          and idempotency_keys.request_hash = excluded.request_hash
          and idempotency_keys.created_at < now() - make_interval(secs => ${this.leaseSeconds})
      returning true as claimed`.execute(this.db());
    if (claimed.rows.length === 0) return this.replay(context, actor, header, hash);

    const successStatus = this.reflector.get<number | undefined>(HTTP_CODE_METADATA, context.getHandler()) ?? 201;
    request.idempotency = { actor, key: header, token, successStatus };
    try {
      const body: unknown = await lastValueFrom(next.handle(), { defaultValue: undefined });
      // The command already stored its result in its transaction; store the exact HTTP body.
      await sql`update idempotency_keys set response_body = ${JSON.stringify(body ?? null)}::jsonb,
          status_code = ${successStatus}, completed_at = coalesce(completed_at, now())
          where actor = ${actor} and key = ${header} and claim_token = ${token}`
        .execute(this.db())
        .catch((error: unknown) => this.logger.warn(`could not store the response body: ${(error as Error).message}`));
      return body;
    } catch (error) {
      const { problem } = toProblem(error, false);
      // Only while unfinished: if the command committed, its stored result stands.
      const settle =
        problem.status >= 500
          ? sql`delete from idempotency_keys where actor = ${actor} and key = ${header} and claim_token = ${token}
              and status_code is null`
          : sql`update idempotency_keys set status_code = ${problem.status}, response_body = ${JSON.stringify(problem)}::jsonb,
              completed_at = now() where actor = ${actor} and key = ${header} and claim_token = ${token} and status_code is null`;
      await settle.execute(this.db()).catch(() => undefined);
      throw error;
    }
  }

  private async replay(context: ExecutionContext, actor: string, key: string, hash: string): Promise<unknown> {
    const { rows } = await sql<
      StoredResponse & { response_body: unknown }
    >`select request_hash, status_code, response_body
        from idempotency_keys where actor = ${actor} and key = ${key}`.execute(this.db());
    const stored = rows[0];
    if (stored && stored.request_hash !== hash) {
      throw new ProblemException(
        422,
        'idempotency-key-reused',
        'this Idempotency-Key was used with a different request',
      );
    }
    if (!stored || stored.status_code === null) {
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
    void context.switchToHttp().getResponse<FastifyReply>().header('idempotent-replayed', 'true');
    if (stored.status_code >= 400) {
      const {
        code,
        detail,
        type: _type,
        title: _title,
        status: _status,
        instance: _instance,
        ...rest
      } = stored.response_body as Problem;
      throw new ProblemException(stored.status_code, code, detail, rest);
    }
    applyCommandHeaders(
      context.switchToHttp().getResponse<FastifyReply>(),
      commandResponseOptions(this.reflector, context),
      stored.response_body,
    );
    return stored.response_body;
  }

  private async prune(): Promise<void> {
    await sql`delete from idempotency_keys where created_at < now() - make_interval(hours => ${RETENTION_HOURS})`
      .execute(this.db())
      .catch((error: unknown) => this.logger.warn(`pruning idempotency keys failed: ${(error as Error).message}`));
  }
}
