import { Body, Controller, Get, Param, Post, Query, Res } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import { CommandBus, QueryBus } from '@nestjs/cqrs';
import { ApiOkResponse, ApiTags } from '@nestjs/swagger';
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
import { ApiAuthenticated, ApiMinPosition, ApiProblems, NOT_YET_READABLE } from '../http/api-docs.js';
import { CommandResponse } from '../http/command-response.js';
import { ApiConditionalGet, CACHE_HEADERS } from '../http/api-caching.js';
import { CommandResultDto } from '../http/common.dto.js';
import { cacheHeaders, PRIVATE_REVALIDATE, versionTag } from '../http/conditional-get.js';
import { ResourceId } from '../http/params.js';
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
  @CommandResponse({ created: { collection: 'orders' } })
  @ApiProblems(
    [400, 'invalid input'],
    [403, 'only customers place orders'],
    [409, 'out of stock (names the products by id, SKU and name)'],
    [422, 'unknown or discontinued product (named), or products in several currencies'],
  )
  place(@Body() body: PlaceOrderDto, @CommandCtx() ctx: CommandContext): Promise<CommandResultDto> {
    return this.commands.execute(new PlaceOrder(ctx, body.lines));
  }

  @Post(':id/pay')
  @Idempotent()
  @CommandResponse()
  @ApiProblems(
    [403, "only the order's owner pays (an admin sees it but may not pay it)"],
    [404, 'no such order (or not yours)'],
    [409, 'not in a payable state'],
  )
  pay(@Param('id', ResourceId()) id: string, @CommandCtx() ctx: CommandContext): Promise<CommandResultDto> {
    return this.commands.execute(new PayOrder(ctx, id));
  }

  @Post(':id/cancel')
  @Idempotent()
  @CommandResponse()
  @ApiProblems([404, 'no such order (or not yours)'], [409, 'already shipped or cancelled'])
  cancel(@Param('id', ResourceId()) id: string, @CommandCtx() ctx: CommandContext): Promise<CommandResultDto> {
    return this.commands.execute(new CancelOrder(ctx, id));
  }

  @Post(':id/ship')
  @Roles('admin')
  @Idempotent()
  @CommandResponse()
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
  @ApiProblems([404, NOT_YET_READABLE('order', ' (or not yours)')], [503, 'read model behind X-Min-Position'])
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
    return this.queries.execute(new GetDailySales({ ...query }));
  }
}
