import { Module } from '@nestjs/common';
import { ExpireOrderHandler } from './expire-order.handler.js';
import { OrderExpiry } from './order-expiry.js';

/** The sweep that cancels unpaid orders, for a worker process (the projector). */
@Module({ providers: [ExpireOrderHandler, OrderExpiry], exports: [OrderExpiry] })
export class OrderExpiryModule {}
