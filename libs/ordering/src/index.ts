import { Order } from './domain/order.entity.js';

export { Order, MAX_ORDER_LINES, PAYMENT_TIMEOUT, type OrderStatus } from './domain/order.entity.js';
export { MAX_LINE_QUANTITY, OrderLine, type NewOrderLine } from './domain/order-line.js';
export * from './domain/order.errors.js';
export { PlaceOrder } from './application/place-order/place-order.command.js';
export { PayOrder } from './application/pay-order/pay-order.command.js';
export { PayOrderHandler } from './application/pay-order/pay-order.handler.js';
export { ShipOrder } from './application/ship-order/ship-order.command.js';
export { CancelOrder } from './application/cancel-order/cancel-order.command.js';
export { ListOrders } from './application/list-orders/list-orders.query.js';
export { GetOrder } from './application/get-order/get-order.query.js';
export { DEFAULT_SALES_DAYS, GetDailySales, type DailySalesRow } from './application/daily-sales/daily-sales.query.js';
export { type OrderView } from './application/order-view.js';
export { OrdersProjection, ordersProjectionEvents } from './projections/orders.projection.js';
export { SalesProjection, salesProjectionEvents } from './projections/sales.projection.js';
export { OrderingModule } from './ordering.module.js';
export { ExpireOrder } from './application/expire-orders/expire-order.command.js';
export { ExpireOrderHandler, OrderBusy } from './application/expire-orders/expire-order.handler.js';
export { OrderExpiry } from './application/expire-orders/order-expiry.js';
export { OrderExpiryModule } from './application/expire-orders/order-expiry.module.js';

export const orderingEntities = [Order];
export {
  ORDER_STREAM_EVENTS,
  type OrderChange,
  type OrderStreamEventType,
  type StreamCursor,
} from './live-updates/order-change.js';
export {
  ORDER_CHANGE_FEED,
  OrderStreamHub,
  StreamsUnavailable,
  TooManyStreams,
  type OrderChangeFeed,
  type ResetReason,
  type StreamHandle,
  type StreamMessage,
  type StreamSink,
} from './live-updates/order-stream.hub.js';
export { StreamTickets } from './live-updates/stream-tickets.js';
export { OrderStreamModule } from './live-updates/order-stream.module.js';
