import {
  applyDecorators,
  HttpCode,
  Injectable,
  SetMetadata,
  UseInterceptors,
  type CallHandler,
  type ExecutionContext,
  type NestInterceptor,
} from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { ApiCreatedResponse, ApiOkResponse } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { tap, type Observable } from 'rxjs';
import { CommandResultDto } from './common.dto.js';

const COMMAND_RESPONSE = 'emporium:command-response';

export interface CommandResponseOptions {
  /** 201 with a `Location` of `<collection>/<id>`, or 200. */
  created?: { collection: string };
}

const MIN_POSITION_HEADER = {
  'X-Min-Position': {
    description:
      "the command's event-log position (also `position` in the body): send it as X-Min-Position on a query " +
      'to read your own write, instead of a 404 or stale data while the read model catches up',
    schema: { type: 'string', pattern: '^[1-9][0-9]*$', maxLength: 20 },
  },
};
const LOCATION_HEADER = {
  Location: {
    description: 'the created resource; GET it with the X-Min-Position header to see it as soon as it is readable',
    schema: { type: 'string', format: 'uri-reference', maxLength: 200 },
  },
};

/**
 * Sets the headers a client of a command needs from its result: `X-Min-Position` (the position,
 * for read-your-writes) and, on a 201, `Location`. Also applied to a replayed response
 * (`Idempotency-Key`), which never reaches the handler.
 */
export function applyCommandHeaders(
  reply: FastifyReply,
  options: CommandResponseOptions | undefined,
  body: unknown,
): void {
  if (!options || typeof body !== 'object' || body === null) return;
  const { id, position } = body as { id?: unknown; position?: unknown };
  if (typeof position === 'string') void reply.header('x-min-position', position);
  if (options.created && typeof id === 'string') {
    void reply.header('location', `/api/v1/${options.created.collection}/${encodeURIComponent(id)}`);
  }
}

export function commandResponseOptions(
  reflector: Reflector,
  context: ExecutionContext,
): CommandResponseOptions | undefined {
  return reflector.get<CommandResponseOptions | undefined>(COMMAND_RESPONSE, context.getHandler());
}

@Injectable()
export class CommandResponseInterceptor implements NestInterceptor {
  constructor(private readonly reflector: Reflector) {}

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    const options = commandResponseOptions(this.reflector, context);
    const reply = context.switchToHttp().getResponse<FastifyReply>();
    return next.handle().pipe(tap((body) => applyCommandHeaders(reply, options, body)));
  }
}

/**
 * A command route answering a `CommandResultDto`: 201 with `Location` when it creates a
 * resource, else 200; `X-Min-Position` either way. Documents both.
 */
export const CommandResponse = (options: CommandResponseOptions = {}): MethodDecorator =>
  applyDecorators(
    SetMetadata(COMMAND_RESPONSE, options),
    UseInterceptors(CommandResponseInterceptor),
    ...(options.created
      ? [
          ApiCreatedResponse({
            type: CommandResultDto,
            headers: { ...LOCATION_HEADER, ...MIN_POSITION_HEADER },
          }),
        ]
      : [HttpCode(200), ApiOkResponse({ type: CommandResultDto, headers: MIN_POSITION_HEADER })]),
  );
