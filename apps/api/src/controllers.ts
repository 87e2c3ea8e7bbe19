import { ProductsController } from './catalog/products.controller.js';
import { AuthController } from './identity/auth.controller.js';
import { OrdersController, SalesController } from './ordering/orders.controller.js';
import { OrderStreamController } from './ordering/order-stream.controller.js';

/** Every HTTP controller of the api: the route inventory test walks this list. */
export const apiControllers = [
  AuthController,
  ProductsController,
  OrderStreamController,
  OrdersController,
  SalesController,
];
