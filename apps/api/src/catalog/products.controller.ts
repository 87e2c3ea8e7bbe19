import {
  applyDecorators,
  Body,
  Controller,
  Get,
  Headers,
  Param,
  Patch,
  Post,
  Put,
  Query,
  Res,
} from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import { CommandBus, QueryBus } from '@nestjs/cqrs';
import { ApiHeader, ApiOkResponse, ApiTags } from '@nestjs/swagger';
import {
  catalogProjectionEvents,
  ChangePrice,
  CreateProduct,
  Discontinue,
  ListProducts,
  Restock,
  UpdateProduct,
} from '@emporium/catalog';
import type { CommandContext } from '@emporium/domain';
import { Idempotent } from '../http/idempotency.interceptor.js';
import { CommandCtx, Public, Roles } from '../auth/auth.decorators.js';
import { ApiAuthenticated, ApiMinPosition, ApiProblems, NOT_YET_READABLE } from '../http/api-docs.js';
import { CommandResponse } from '../http/command-response.js';
import { ApiConditionalGet, CACHE_HEADERS } from '../http/api-caching.js';
import { cacheHeaders, PUBLIC_CATALOG_CACHING, versionTag } from '../http/conditional-get.js';
import { CachedProducts } from './cached-products.js';
import { CommandResultDto } from '../http/common.dto.js';
import { parseIfMatch, ResourceId } from '../http/params.js';
import { ReadModel } from '../http/read-your-writes.guard.js';
import {
  ChangePriceDto,
  CreateProductDto,
  ListProductsQueryDto,
  ProductDto,
  ProductPageDto,
  RestockDto,
  UpdateProductDto,
} from './products.dto.js';

const IfMatch = (): MethodDecorator =>
  ApiHeader({
    name: 'If-Match',
    required: false,
    description: 'the version you last saw; 412 if it is stale',
    schema: { type: 'string', pattern: '^(W/)?"?[0-9]{1,9}"?$', maxLength: 14 },
  });

/** What every admin change to one product shares: the role, If-Match, its answer and its errors. */
const ProductChange = (): MethodDecorator =>
  applyDecorators(
    Roles('admin'),
    ApiAuthenticated(),
    IfMatch(),
    CommandResponse(),
    ApiProblems([403, 'admin only'], [404, 'no such product'], [409, 'discontinued'], [412, 'stale If-Match']),
  );

@ApiTags('products')
@Controller('products')
export class ProductsController {
  constructor(
    private readonly commands: CommandBus,
    private readonly queries: QueryBus,
    private readonly products: CachedProducts,
  ) {}

  @Post()
  @Roles('admin')
  @ApiAuthenticated()
  @Idempotent()
  @CommandResponse({ created: { collection: 'products' } })
  @ApiProblems([400, 'invalid input'], [403, 'admin only'], [409, 'duplicate SKU'])
  create(@Body() body: CreateProductDto, @CommandCtx() ctx: CommandContext): Promise<CommandResultDto> {
    return this.commands.execute(new CreateProduct(ctx, { ...body }));
  }

  @Patch(':id')
  @ProductChange()
  @ApiProblems([400, 'invalid input or If-Match'])
  update(
    @Param('id', ResourceId()) id: string,
    @Body() body: UpdateProductDto,
    @Headers('if-match') ifMatch: string | undefined,
    @CommandCtx() ctx: CommandContext,
  ): Promise<CommandResultDto> {
    return this.commands.execute(new UpdateProduct(ctx, id, { ...body }, parseIfMatch(ifMatch)));
  }

  @Put(':id/price')
  @ProductChange()
  @ApiProblems([400, 'invalid input or If-Match'])
  changePrice(
    @Param('id', ResourceId()) id: string,
    @Body() body: ChangePriceDto,
    @Headers('if-match') ifMatch: string | undefined,
    @CommandCtx() ctx: CommandContext,
  ): Promise<CommandResultDto> {
    return this.commands.execute(new ChangePrice(ctx, id, body.priceCents, parseIfMatch(ifMatch)));
  }

  @Post(':id/restock')
  @ProductChange()
  @Idempotent()
  @ApiProblems([400, 'invalid input or If-Match'])
  restock(
    @Param('id', ResourceId()) id: string,
    @Body() body: RestockDto,
    @Headers('if-match') ifMatch: string | undefined,
    @CommandCtx() ctx: CommandContext,
  ): Promise<CommandResultDto> {
    return this.commands.execute(new Restock(ctx, id, body.quantity, parseIfMatch(ifMatch)));
  }

  @Post(':id/discontinue')
  @ProductChange()
  @Idempotent()
  @ApiProblems([400, 'invalid input or If-Match'])
  discontinue(
    @Param('id', ResourceId()) id: string,
    @Headers('if-match') ifMatch: string | undefined,
    @CommandCtx() ctx: CommandContext,
  ): Promise<CommandResultDto> {
    return this.commands.execute(new Discontinue(ctx, id, parseIfMatch(ifMatch)));
  }

  @Public()
  @Get()
  @ReadModel('catalog', catalogProjectionEvents)
  @ApiMinPosition()
  @ApiOkResponse({ type: ProductPageDto, headers: CACHE_HEADERS.list })
  @ApiProblems([400, 'invalid filter or cursor'], [503, 'read model behind X-Min-Position'])
  list(@Query() query: ListProductsQueryDto, @Res({ passthrough: true }) reply: FastifyReply): Promise<ProductPageDto> {
    void reply.header('cache-control', PUBLIC_CATALOG_CACHING).header('vary', 'X-Min-Position');
    const { minPrice, maxPrice, minPriceCents = minPrice, maxPriceCents = maxPrice, ...filter } = query;
    return this.queries.execute(new ListProducts({ ...filter, minPriceCents, maxPriceCents }));
  }

  @Public()
  @Get(':id')
  @ReadModel('catalog', catalogProjectionEvents)
  @ApiMinPosition()
  @ApiOkResponse({ type: ProductDto, headers: CACHE_HEADERS.public })
  @ApiConditionalGet()
  @ApiProblems([404, NOT_YET_READABLE('product')], [503, 'read model behind X-Min-Position'])
  async get(
    @Param('id', ResourceId()) id: string,
    @Headers('x-min-position') minPosition: string | undefined,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<ProductDto> {
    const product = await this.products.byId(id, minPosition);
    cacheHeaders(reply, versionTag('p', product.id, product.version), PUBLIC_CATALOG_CACHING, 'X-Min-Position');
    return product;
  }
}
