import { Body, Controller, Get, HttpCode, Param, Post, Query, Res } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import { CommandBus, QueryBus } from '@nestjs/cqrs';
import { ApiCreatedResponse, ApiOkResponse, ApiTags } from '@nestjs/swagger';
import type { Actor, CommandContext } from '@emporium/domain';
import {
  CancelOrder,
  GetDailySales,
  GetOrder,
  ListOrders,
  ordersProjectionEvents,
  PayOrder,
  PlaceOrder,
  salesProjectionEvents,
  ShipOrder,
} from '@emporium/ordering';
import { Idempotent } from '../http/idempotency.interceptor.js';
import { CommandCtx, CurrentActor, Roles } from '../auth/auth.decorators.js';
import { ApiAuthenticated, ApiMinPosition, ApiProblems } from '../http/api-docs.js';
import { ApiConditionalGet, CACHE_HEADERS } from '../http/api-caching.js';
import { CommandResultDto } from '../http/common.dto.js';
import { cacheHeaders, PRIVATE_REVALIDATE, versionTag } from '../http/conditional-get.js';
import { ResourceId } from '../http/params.js';
import { ProblemException } from '../http/problem.js';
import { ReadModel } from '../http/read-your-writes.guard.js';
import {
  DailySalesDto,
  DailySalesQueryDto,
  ListOrdersQueryDto,
  OrderDto,
  OrderPageDto,
  PlaceOrderDto,
} from './orders.dto.js';

@ApiTags('orders')
@ApiAuthenticated()
@Controller('orders')
export class OrdersController {
  constructor(
    private readonly commands: CommandBus,
    private readonly queries: QueryBus,
  ) {}

  @Post()
  @Roles('customer')
  @Idempotent()
  @ApiCreatedResponse({ type: CommandResultDto })
  @ApiProblems(
    [400, 'invalid input'],
    [403, 'only customers place orders'],
    [409, 'out of stock (names the products)'],
    [422, 'unknown or discontinued product'],
  )
  place(@Body() body: PlaceOrderDto, @CommandCtx() ctx: CommandContext): Promise<CommandResultDto> {
    return this.commands.execute(new PlaceOrder(ctx, body.lines));
  }

  @Post(':id/pay')
  @HttpCode(200)
  @Idempotent()
  @ApiOkResponse({ type: CommandResultDto })
  @ApiProblems([404, 'no such order (or not yours)'], [409, 'not in a payable state'])
  pay(@Param('id', ResourceId()) id: string, @CommandCtx() ctx: CommandContext): Promise<CommandResultDto> {
    return this.commands.execute(new PayOrder(ctx, id));
  }

  @Post(':id/cancel')
  @HttpCode(200)
  @Idempotent()
  @ApiOkResponse({ type: CommandResultDto })
  @ApiProblems([404, 'no such order (or not yours)'], [409, 'already shipped or cancelled'])
  cancel(@Param('id', ResourceId()) id: string, @CommandCtx() ctx: CommandContext): Promise<CommandResultDto> {
    return this.commands.execute(new CancelOrder(ctx, id));
  }

  @Post(':id/ship')
  @HttpCode(200)
  @Roles('admin')
  @Idempotent()
  @ApiOkResponse({ type: CommandResultDto })
  @ApiProblems([403, 'admin only'], [404, 'no such order'], [409, 'not paid yet'])
  ship(@Param('id', ResourceId()) id: string, @CommandCtx() ctx: CommandContext): Promise<CommandResultDto> {
    return this.commands.execute(new ShipOrder(ctx, id));
  }

  @Get()
  @ReadModel('orders', ordersProjectionEvents)
  @ApiMinPosition()
  @ApiOkResponse({ type: OrderPageDto })
  @ApiProblems([400, 'invalid filter or cursor'], [503, 'read model behind X-Min-Position'])
  list(@Query() query: ListOrdersQueryDto, @CurrentActor() actor: Actor): Promise<OrderPageDto> {
    return this.queries.execute(new ListOrders(actor, { ...query }));
  }

  @Get(':id')
  @ReadModel('orders', ordersProjectionEvents)
  @ApiMinPosition()
  @ApiOkResponse({ type: OrderDto, headers: CACHE_HEADERS.private })
  @ApiConditionalGet()
  @ApiProblems([404, 'no such order (or not yours)'], [503, 'read model behind X-Min-Position'])
  async get(
    @Param('id', ResourceId()) id: string,
    @CurrentActor() actor: Actor,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<OrderDto> {
    const order = await this.queries.execute(new GetOrder(actor, id));
    cacheHeaders(reply, versionTag('o', order.id, order.version), PRIVATE_REVALIDATE);
    return order;
  }
}

@ApiTags('sales')
@ApiAuthenticated()
@Controller('sales')
export class SalesController {
  constructor(private readonly queries: QueryBus) {}

  @Get('daily')
  @Roles('admin')
  @ReadModel('sales', salesProjectionEvents)
  @ApiMinPosition()
  @ApiOkResponse({ type: DailySalesDto })
  @ApiProblems([400, 'invalid range'], [403, 'admin only'], [503, 'read model behind X-Min-Position'])
  daily(@Query() query: DailySalesQueryDto): Promise<DailySalesDto> {
    if (query.from > query.to) throw new ProblemException(400, 'invalid-range', 'from must not be after to');
    return this.queries.execute(new GetDailySales({ ...query }));
  }
}
