import { Migration } from '@mikro-orm/migrations';

/**
 * Categories as people write them ("Electronics", "Home & Garden"): the catalog and sales filters
 * compare `lower(category)`, so their indexes are on that expression; the categories that exist,
 * with their active products counted, are a read model of their own, kept by the catalog
 * projection. Product search also matches word prefixes through the same GIN index.
 */
export class Migration20261202000000_catalog_categories extends Migration {
  override up(): void {
    this.addSql(`drop index if exists read_catalog_products_category_price_idx`);
    this.addSql(
      `create index read_catalog_products_category_price_idx on read_catalog_products (lower(category), price_cents, id)`,
    );
    this.addSql(`drop index if exists read_sales_daily_category_idx`);
    this.addSql(`create index read_sales_daily_category_idx on read_sales_daily (lower(category), day)`);
    this.addSql(`
      create table read_catalog_categories (
        key varchar(64) primary key,
        name varchar(64) not null,
        product_count integer not null
      )`);
    this.addSql(`
      insert into read_catalog_categories (key, name, product_count)
      select lower(category), min(category collate "C"), count(*) filter (where status = 'active')
        from read_catalog_products group by lower(category)`);
  }

  override down(): void {
    this.addSql(`drop table if exists read_catalog_categories`);
    this.addSql(`drop index if exists read_sales_daily_category_idx`);
    this.addSql(`create index read_sales_daily_category_idx on read_sales_daily (category, day)`);
    this.addSql(`drop index if exists read_catalog_products_category_price_idx`);
    this.addSql(
      `create index read_catalog_products_category_price_idx on read_catalog_products (category, price_cents, id)`,
    );
  }
}
