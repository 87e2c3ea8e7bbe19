import { MikroORM } from '@mikro-orm/postgresql';
import { QueryHandler, type IQueryHandler } from '@nestjs/cqrs';
import { readDb, type ReadDb } from '@emporium/database';
import { Instrumented } from '@emporium/telemetry';
import { ListCategories, MAX_CATEGORIES, type CategoryView } from './list-categories.query.js';

/** One read of the categories read model, which the catalog projection keeps counted. */
@QueryHandler(ListCategories)
export class ListCategoriesHandler implements IQueryHandler<ListCategories> {
  private readonly db: ReadDb;

  constructor(orm: MikroORM) {
    this.db = readDb(orm);
  }

  @Instrumented('query')
  async execute(): Promise<{ items: CategoryView[] }> {
    const rows = await this.db
      .selectFrom('read_catalog_categories')
      .select(['name', 'product_count'])
      .where('product_count', '>', 0)
      .orderBy('key')
      .limit(MAX_CATEGORIES)
      .execute();
    return { items: rows.map((row) => ({ name: row.name, productCount: row.product_count })) };
  }
}
