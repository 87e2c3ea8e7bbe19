import { CategoriesController } from './catalog/categories.controller.js';
import { ProductsController } from './catalog/products.controller.js';
import { AuthController } from './identity/auth.controller.js';
import { OrderStreamController } from './ordering/order-stream.controller.js';
import { OrdersController, SalesController } from './ordering/orders.controller.js';
import { WebhooksController } from './webhooks/webhooks.controller.js';

/** Every HTTP controller of the api: the route inventory test walks this list. */
export const apiControllers = [
  AuthController,
  ProductsController,
  CategoriesController,
  OrderStreamController,
  OrdersController,
  SalesController,
  WebhooksController,
];
