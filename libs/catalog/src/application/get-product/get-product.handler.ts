import { MikroORM } from '@mikro-orm/postgresql';
import { QueryHandler, type IQueryHandler } from '@nestjs/cqrs';
import { readQuery } from '@emporium/database';
import { ProductNotFound } from '../../domain/product.errors.js';
import { PRODUCT_COLUMNS, toProductView, type ProductRow, type ProductView } from '../product-view.js';
import { GetProduct } from './get-product.query.js';
import { Instrumented } from '@emporium/telemetry';

const BY_ID = `select ${PRODUCT_COLUMNS} from read_catalog_products where id = $1`;

@QueryHandler(GetProduct)
export class GetProductHandler implements IQueryHandler<GetProduct> {
  constructor(private readonly orm: MikroORM) {}

  @Instrumented('query')
  async execute({ productId }: GetProduct): Promise<ProductView> {
    const [row] = await readQuery<ProductRow>(this.orm, 'catalog.product-by-id', BY_ID, [productId]);
    if (!row) throw new ProductNotFound(productId);
    return toProductView(row);
  }
}
