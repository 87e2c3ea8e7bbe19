import { Product } from './domain/product.entity.js';

export { Product, MAX_PRICE_CENTS, MAX_STOCK, type NewProduct, type ProductStatus } from './domain/product.entity.js';
export * from './domain/product.errors.js';
export { StockReservation, type StockRequest } from './domain/stock-reservation.js';
export { CreateProduct, type ProductFields } from './application/create-product/create-product.command.js';
export { UpdateProduct } from './application/update-product/update-product.command.js';
export { ChangePrice } from './application/change-price/change-price.command.js';
export { Restock } from './application/restock/restock.command.js';
export { Discontinue } from './application/discontinue/discontinue.command.js';
export {
  ListProducts,
  PRODUCT_SORTS,
  type ProductFilter,
  type ProductSort,
} from './application/list-products/list-products.query.js';
export { GetProduct } from './application/get-product/get-product.query.js';
export {
  ListCategories,
  MAX_CATEGORIES,
  type CategoryView,
} from './application/list-categories/list-categories.query.js';
export { CATEGORY_NAME, normalizeCategory } from './domain/category.js';
export { type ProductView } from './application/product-view.js';
export { CatalogProjection, catalogProjectionEvents } from './projections/catalog.projection.js';
export { CATALOG_CHANNEL } from './projections/catalog-changes.js';
export { CatalogModule } from './catalog.module.js';

export const catalogEntities = [Product];
