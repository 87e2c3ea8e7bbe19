import { Controller, Get, Logger, Headers, HttpCode, Post, Query, Req, Res, type OnModuleInit } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { ApiCreatedResponse, ApiExtraModels, ApiHeader, ApiOkResponse, ApiTags, getSchemaPath } from '@nestjs/swagger';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { AppConfig } from '@emporium/config';
import type { Actor } from '@emporium/domain';
import {
  OrderStreamHub,
  StreamsUnavailable,
  StreamTickets,
  TooManyStreams,
  type StreamHandle,
} from '@emporium/ordering';
import { CurrentActor, type AuthenticatedRequest } from '../auth/auth.decorators.js';
import { TicketAuthenticated } from '../auth/ticket-auth.js';
import { ApiAuthenticated, ApiProblems } from '../http/api-docs.js';
import { ProblemException } from '../http/problem.js';
import { OrderStreamEventDto, OrderStreamQueryDto, StreamTicketDto } from './order-stream.dto.js';
import { SseWriter } from './sse-writer.js';

const EVENT_ID = /^(0|[1-9][0-9]{0,18})$/;
/** Positions are bigints. */
const MAX_POSITION = 2n ** 63n - 1n;

/**
 * Live order updates as server-sent events (docs/adr/0019-live-order-updates.md): a customer's
 * own orders, or every order for an admin, resumable with Last-Event-ID.
 */
@ApiTags('orders')
@ApiAuthenticated()
@ApiExtraModels(OrderStreamEventDto)
@Controller('orders/stream')
export class OrderStreamController implements OnModuleInit {
  private readonly logger = new Logger(OrderStreamController.name);
  constructor(
    private readonly hub: OrderStreamHub,
    private readonly tickets: StreamTickets,
    private readonly config: AppConfig,
    private readonly adapterHost: HttpAdapterHost,
  ) {}

  onModuleInit(): void {
    // Open streams never end by themselves: end them when the server starts closing, or it
    // would wait for them until the shutdown grace period kills the process.
    const fastify = this.adapterHost.httpAdapter.getInstance<FastifyInstance>();
    fastify.addHook('preClose', (done) => {
      this.hub.endAll();
      done();
    });
  }

  @Post('tickets')
  @HttpCode(201)
  @ApiCreatedResponse({ type: StreamTicketDto, description: 'a single-use ticket for GET /orders/stream?ticket=' })
  ticket(@CurrentActor() actor: Actor): Promise<StreamTicketDto> {
    return this.tickets.issue(actor);
  }

  @Get()
  @TicketAuthenticated('ticket')
  @ApiHeader({
    name: 'Last-Event-ID',
    required: false,
    schema: { type: 'string', pattern: '^(0|[1-9][0-9]{0,18})$', maxLength: 19 },
    description:
      'resume after this event (the id of the last event received; EventSource sends it when it reconnects). ' +
      'A resume further back than ORDER_STREAM_REPLAY_MAX_EVENTS order events or ORDER_STREAM_REPLAY_MAX_AGE_MS ' +
      'starts with a `reset` event instead: reload the orders, then carry on.',
  })
  @ApiOkResponse({
    description:
      'text/event-stream: one event per order change, `id:` its event-log position, `event:` its type ' +
      '(ordering.order.placed, .paid, .shipped, .cancelled), `data:` an OrderStreamEventDto as JSON; ' +
      '`event: reset` with `data: {reason, position}` when a resume reached back too far; ' +
      '`: keep-alive` comments while idle. A customer receives their own orders, an admin every order.',
    content: {
      'text/event-stream': {
        schema: {
          type: 'string',
          maxLength: 1_000_000,
          description: `events whose data is ${getSchemaPath(OrderStreamEventDto)}`,
        },
      },
    },
  })
  @ApiProblems(
    [400, 'malformed Last-Event-ID or query'],
    [401, 'missing or invalid token, or an unknown, expired or used ticket'],
    [429, 'too many open streams for this user (ORDER_STREAM_MAX_PER_USER)'],
    [503, 'this api process is shutting down; reconnect'],
  )
  async stream(
    @Query() _query: OrderStreamQueryDto,
    @Headers('last-event-id') lastEventId: string | undefined,
    @CurrentActor() actor: Actor,
    @Req() request: AuthenticatedRequest,
    @Res() reply: FastifyReply,
  ): Promise<void> {
    if (lastEventId !== undefined && !(EVENT_ID.test(lastEventId) && BigInt(lastEventId) <= MAX_POSITION)) {
      throw new ProblemException(400, 'invalid-last-event-id', 'Last-Event-ID must be an event id from this stream');
    }
    const slot = this.reserve(actor);
    const { heartbeatMs, queueLimit, retryMs } = this.config.orderStream;
    reply.hijack();
    const response = reply.raw;
    response.writeHead(200, {
      ...(reply.getHeaders() as Record<string, string>),
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache, no-transform',
      'x-accel-buffering': 'no',
    });
    // Heartbeats keep a live stream busy; a socket whose writes make no progress for this long
    // belongs to a client that is gone (REQUEST_TIMEOUT_MS alone could be shorter than a heartbeat).
    request.raw.socket.setTimeout(Math.max(this.config.http.requestTimeoutMs, 2 * heartbeatMs));
    request.raw.socket.setNoDelay(true);
    const writer = new SseWriter(response, { queueLimit, heartbeatMs });
    writer.write(`retry: ${retryMs}\n: connected\n\n`);
    let handle: StreamHandle | undefined;
    response.on('close', () => handle?.close());
    try {
      handle = await slot.open(lastEventId, writer);
      if (writer.ended) handle.close();
    } catch (error) {
      slot.release();
      // The answer has started: end it; the client reconnects (with Last-Event-ID) and resumes.
      writer.end('shutdown');
      if (!(error instanceof StreamsUnavailable)) this.logger.warn(`order stream: ${(error as Error).message}`);
    }
  }

  private reserve(actor: Actor): ReturnType<OrderStreamHub['reserve']> {
    try {
      return this.hub.reserve(actor);
    } catch (error) {
      if (error instanceof TooManyStreams) {
        throw new ProblemException(429, 'too-many-streams', error.message, { limit: error.limit });
      }
      if (error instanceof StreamsUnavailable) {
        throw new ProblemException(503, 'shutting-down', error.message, {}, { 'retry-after': '1' });
      }
      throw error;
    }
  }
}
