import {
  applyDecorators,
  Injectable,
  SetMetadata,
  UseGuards,
  type CanActivate,
  type ExecutionContext,
} from '@nestjs/common';
import { StreamTickets } from '@emporium/ordering';
import type { AuthenticatedRequest } from './auth.decorators.js';
import { ProblemException } from '../http/problem.js';

export const TICKET_QUERY = 'emporium:ticket-query';

/** The ticket of a request to a route marked @TicketAuthenticated(), if it carries one. */
export function ticketOf(request: AuthenticatedRequest, parameter: string): string | undefined {
  const value = (request.query as Record<string, unknown> | undefined)?.[parameter];
  if (value === undefined) return undefined;
  // A repeated parameter arrives as an array: never a valid ticket.
  return typeof value === 'string' ? value : '';
}

/** Redeems the ticket in `?<parameter>=` (once); without one, the bearer token was checked already. */
@Injectable()
export class StreamTicketGuard implements CanActivate {
  constructor(private readonly tickets: StreamTickets) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const request = context.switchToHttp().getRequest<AuthenticatedRequest>();
    const parameter = Reflect.getMetadata(TICKET_QUERY, context.getHandler()) as string;
    const ticket = ticketOf(request, parameter);
    if (ticket === undefined) return true;
    const actor = ticket.length <= 100 ? await this.tickets.redeem(ticket) : undefined;
    if (!actor) {
      throw new ProblemException(
        401,
        'invalid-ticket',
        'the ticket is unknown, expired or already used; get a new one',
      );
    }
    request.user = { ...actor, email: '' };
    return true;
  }
}

/**
 * The route also accepts a single-use ticket in the query string instead of the bearer header
 * (for clients that cannot send headers). Never an access token: that stays in the header.
 */
export const TicketAuthenticated = (parameter: string): MethodDecorator =>
  applyDecorators(SetMetadata(TICKET_QUERY, parameter), UseGuards(StreamTicketGuard));
