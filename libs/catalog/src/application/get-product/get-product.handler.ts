import { MikroORM } from '@mikro-orm/postgresql';
import { QueryHandler, type IQueryHandler } from '@nestjs/cqrs';
import { readDb, type ReadDb } from '@emporium/database';
import { Instrumented } from '@emporium/telemetry';
import { ProductNotFound } from '../../domain/product.errors.js';
import { PRODUCT_COLUMNS, toProductView, type ProductView } from '../product-view.js';
import { GetProduct } from './get-product.query.js';

@QueryHandler(GetProduct)
export class GetProductHandler implements IQueryHandler<GetProduct> {
  private readonly db: ReadDb;

  constructor(orm: MikroORM) {
    this.db = readDb(orm);
  }

  @Instrumented('query')
  async execute({ productId }: GetProduct): Promise<ProductView> {
    const row = await this.db
      .selectFrom('read_catalog_products')
      .select(PRODUCT_COLUMNS)
      .where('id', '=', productId)
      .executeTakeFirst();
    if (!row) throw new ProductNotFound(productId);
    return toProductView(row);
  }
}
