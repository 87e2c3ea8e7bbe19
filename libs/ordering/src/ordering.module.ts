import { Module } from '@nestjs/common';
import { PlaceOrderHandler } from './application/place-order/place-order.handler.js';
import { PayOrderHandler } from './application/pay-order/pay-order.handler.js';
import { ShipOrderHandler } from './application/ship-order/ship-order.handler.js';
import { CancelOrderHandler } from './application/cancel-order/cancel-order.handler.js';
import { ListOrdersHandler } from './application/list-orders/list-orders.handler.js';
import { GetOrderHandler } from './application/get-order/get-order.handler.js';
import { GetDailySalesHandler } from './application/daily-sales/daily-sales.handler.js';

const commandHandlers = [PlaceOrderHandler, PayOrderHandler, ShipOrderHandler, CancelOrderHandler];
const queryHandlers = [ListOrdersHandler, GetOrderHandler, GetDailySalesHandler];

@Module({ providers: [...commandHandlers, ...queryHandlers] })
export class OrderingModule {}
