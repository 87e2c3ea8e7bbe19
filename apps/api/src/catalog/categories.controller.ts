import { Controller, Get } from '@nestjs/common';
import { QueryBus } from '@nestjs/cqrs';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { catalogProjectionEvents, ListCategories } from '@emporium/catalog';
import { Public } from '../auth/auth.decorators.js';
import { ApiMinPosition, ApiProblems } from '../http/api-docs.js';
import { ReadModel } from '../http/read-your-writes.guard.js';
import { CategoryListDto } from './products.dto.js';

@ApiTags('products')
@Controller('categories')
export class CategoriesController {
  constructor(private readonly queries: QueryBus) {}

  @Public()
  @Get()
  @ReadModel('catalog', catalogProjectionEvents)
  @ApiMinPosition()
  @ApiOperation({
    summary: 'The categories that have active products, with how many',
    description: 'Names as products spell them, ordered without regard to case; any of them works as `category=`.',
  })
  @ApiOkResponse({ type: CategoryListDto })
  @ApiProblems([503, 'read model behind X-Min-Position'])
  list(): Promise<CategoryListDto> {
    return this.queries.execute(new ListCategories());
  }
}
