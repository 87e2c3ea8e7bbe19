import { Body, Controller, Delete, Get, HttpCode, Param, Post, Query } from '@nestjs/common';
import { CommandBus, QueryBus } from '@nestjs/cqrs';
import { ApiCreatedResponse, ApiNoContentResponse, ApiOkResponse, ApiTags } from '@nestjs/swagger';
import { DeleteWebhook, ListWebhookDeliveries, ListWebhooks, RegisterWebhook } from '@emporium/webhooks';
import { Roles } from '../auth/auth.decorators.js';
import { ApiAuthenticated, ApiProblems } from '../http/api-docs.js';
import { ResourceId } from '../http/params.js';
import {
  CreatedWebhookDto,
  CreateWebhookDto,
  ListDeliveriesQueryDto,
  WebhookDeliveryListDto,
  WebhookListDto,
} from './webhooks.dto.js';

/** Outgoing webhooks (Standard Webhooks signatures); administrators only. */
@ApiTags('webhooks')
@Controller('webhooks')
@Roles('admin')
@ApiAuthenticated()
export class WebhooksController {
  constructor(
    private readonly commands: CommandBus,
    private readonly queries: QueryBus,
  ) {}

  @Post()
  @ApiCreatedResponse({ type: CreatedWebhookDto, description: 'the endpoint, with its signing secret (shown once)' })
  @ApiProblems(
    [403, 'admin only'],
    [400, 'invalid input: a malformed or non-http(s) URL, or unknown event types'],
    [422, 'the URL reaches a loopback, private, link-local or metadata address, or does not resolve'],
  )
  register(@Body() body: CreateWebhookDto): Promise<CreatedWebhookDto> {
    return this.commands.execute(new RegisterWebhook(body.url, body.eventTypes));
  }

  @Get()
  @ApiOkResponse({ type: WebhookListDto })
  @ApiProblems([403, 'admin only'])
  async list(): Promise<WebhookListDto> {
    return { items: await this.queries.execute(new ListWebhooks()) };
  }

  @Delete(':id')
  @HttpCode(204)
  @ApiNoContentResponse({ description: 'removed; nothing more is sent to it' })
  @ApiProblems([403, 'admin only'], [404, 'no such webhook'])
  async remove(@Param('id', ResourceId()) id: string): Promise<void> {
    await this.commands.execute(new DeleteWebhook(id));
  }

  @Get(':id/deliveries')
  @ApiOkResponse({ type: WebhookDeliveryListDto, description: 'newest first' })
  @ApiProblems([400, 'invalid limit'], [403, 'admin only'], [404, 'no such webhook'])
  async deliveries(
    @Param('id', ResourceId()) id: string,
    @Query() query: ListDeliveriesQueryDto,
  ): Promise<WebhookDeliveryListDto> {
    return { items: await this.queries.execute(new ListWebhookDeliveries(id, query.limit)) };
  }
}
