import { Module } from '@nestjs/common';
import { CreateProductHandler } from './application/create-product/create-product.handler.js';
import { UpdateProductHandler } from './application/update-product/update-product.handler.js';
import { ChangePriceHandler } from './application/change-price/change-price.handler.js';
import { RestockHandler } from './application/restock/restock.handler.js';
import { DiscontinueHandler } from './application/discontinue/discontinue.handler.js';
import { ListProductsHandler } from './application/list-products/list-products.handler.js';
import { GetProductHandler } from './application/get-product/get-product.handler.js';
import { ListCategoriesHandler } from './application/list-categories/list-categories.handler.js';

const commandHandlers = [
  CreateProductHandler,
  UpdateProductHandler,
  ChangePriceHandler,
  RestockHandler,
  DiscontinueHandler,
];
const queryHandlers = [ListProductsHandler, GetProductHandler, ListCategoriesHandler];

@Module({ providers: [...commandHandlers, ...queryHandlers] })
export class CatalogModule {}
