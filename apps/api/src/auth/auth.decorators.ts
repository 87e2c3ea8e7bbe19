import { SetMetadata, createParamDecorator, type ExecutionContext } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { CommandContext, type Actor, type IdempotencyClaim } from '@emporium/domain';
import { currentTraceContext } from '@emporium/telemetry';

export const IS_PUBLIC = 'emporium:public';
export const ROLES = 'emporium:roles';

/** The route needs no token. Every other route requires one (a global guard). */
export const Public = (): MethodDecorator & ClassDecorator => SetMetadata(IS_PUBLIC, true);

/** The token must carry one of these roles. */
export const Roles = (...roles: string[]): MethodDecorator & ClassDecorator => SetMetadata(ROLES, roles);

export interface AuthenticatedRequest extends FastifyRequest {
  user?: Actor & { email: string };
  /** Set by the idempotency interceptor when it claimed an Idempotency-Key for this request. */
  idempotency?: IdempotencyClaim;
}

/** The signed-in user. */
export const CurrentActor = createParamDecorator((_: unknown, ctx: ExecutionContext): Actor => {
  const user = ctx.switchToHttp().getRequest<AuthenticatedRequest>().user;
  if (!user) throw new Error('CurrentActor used on a public route');
  return { id: user.id, roles: user.roles };
});

const CORRELATION_ID = /^[A-Za-z0-9._:-]{1,64}$/;

/** Who is asking and which request this is: the metadata every recorded event carries. */
export const CommandCtx = createParamDecorator((_: unknown, ctx: ExecutionContext): CommandContext => {
  const request = ctx.switchToHttp().getRequest<AuthenticatedRequest>();
  const header = (name: string): string | undefined => {
    const value = request.headers[name];
    return typeof value === 'string' ? value : undefined;
  };
  const correlation = header('x-correlation-id');
  // The active span is the request's server span (continuing the client's traceparent, if any).
  const traced = currentTraceContext();
  const traceparent = traced.traceparent ?? header('traceparent');
  const tracestate = traced.traceparent ? traced.tracestate : header('tracestate');
  const actor = request.user ? { id: request.user.id, roles: request.user.roles } : { id: 'anonymous', roles: [] };
  return new CommandContext(
    actor,
    correlation && CORRELATION_ID.test(correlation) ? correlation : request.id,
    traceparent && /^[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$/.test(traceparent) ? traceparent : undefined,
    tracestate?.slice(0, 512),
    request.idempotency,
  );
});
