import { Injectable, type CanActivate, type ExecutionContext } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { AuthGuard } from '@nestjs/passport';
import { IS_PUBLIC, ROLES, type AuthenticatedRequest } from './auth.decorators.js';
import { ProblemException } from '../http/problem.js';
import { TICKET_QUERY, ticketOf } from './ticket-auth.js';

/** Global: every route needs a valid token unless it is marked @Public(). */
@Injectable()
export class JwtAuthGuard extends AuthGuard('jwt') {
  constructor(private readonly reflector: Reflector) {
    super();
  }

  override canActivate(context: ExecutionContext): ReturnType<CanActivate['canActivate']> {
    const isPublic = this.reflector.getAllAndOverride<boolean>(IS_PUBLIC, [context.getHandler(), context.getClass()]);
    if (isPublic) return true;
    // A request with a stream ticket is authenticated by the ticket (StreamTicketGuard).
    const ticketQuery = this.reflector.get<string | undefined>(TICKET_QUERY, context.getHandler());
    if (ticketQuery && ticketOf(context.switchToHttp().getRequest(), ticketQuery) !== undefined) return true;
    return super.canActivate(context);
  }

  override handleRequest<T>(error: unknown, user: T): T {
    if (error || !user)
      throw new ProblemException(
        401,
        'unauthorized',
        'a valid bearer token is required',
        {},
        { 'www-authenticate': 'Bearer' },
      );
    return user;
  }
}

/** Global: a route marked @Roles(...) needs one of those roles; otherwise 403. */
@Injectable()
export class RolesGuard implements CanActivate {
  constructor(private readonly reflector: Reflector) {}

  canActivate(context: ExecutionContext): boolean {
    const roles = this.reflector.getAllAndOverride<string[] | undefined>(ROLES, [
      context.getHandler(),
      context.getClass(),
    ]);
    if (!roles?.length) return true;
    const user = context.switchToHttp().getRequest<AuthenticatedRequest>().user;
    if (user?.roles.some((role) => roles.includes(role))) return true;
    throw new ProblemException(403, 'forbidden', `this operation needs the role: ${roles.join(' or ')}`);
  }
}
