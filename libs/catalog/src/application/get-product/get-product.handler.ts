import { MikroORM } from '@mikro-orm/postgresql';
import { QueryHandler, type IQueryHandler } from '@nestjs/cqrs';
import { sql } from 'kysely';
import { ProductNotFound } from '../../domain/product.errors.js';
import { PRODUCT_COLUMNS, toProductView, type ProductRow, type ProductView } from '../product-view.js';
import { GetProduct } from './get-product.query.js';
import { Traced } from '@emporium/telemetry';

@QueryHandler(GetProduct)
export class GetProductHandler implements IQueryHandler<GetProduct> {
  constructor(private readonly orm: MikroORM) {}

  @Traced('query')
  async execute({ productId }: GetProduct): Promise<ProductView> {
    const { rows } = await sql<ProductRow>`select ${sql.raw(PRODUCT_COLUMNS)} from read_catalog_products
        where id = ${productId}`.execute(this.orm.em.fork().getKysely());
    if (!rows[0]) throw new ProductNotFound(productId);
    return toProductView(rows[0]);
  }
}
