import { Order } from './domain/order.entity.js';

export { Order, MAX_LINE_QUANTITY, MAX_ORDER_LINES, type OrderLine, type OrderStatus } from './domain/order.entity.js';
export * from './domain/order.errors.js';
export { PlaceOrder } from './application/place-order/place-order.command.js';
export { PayOrder } from './application/pay-order/pay-order.command.js';
export { ShipOrder } from './application/ship-order/ship-order.command.js';
export { CancelOrder } from './application/cancel-order/cancel-order.command.js';
export { ListOrders } from './application/list-orders/list-orders.query.js';
export { GetOrder } from './application/get-order/get-order.query.js';
export { GetDailySales, type DailySalesRow } from './application/daily-sales/daily-sales.query.js';
export { InvalidOrderCursor, type OrderView } from './application/order-view.js';
export { OrdersProjection, ordersProjectionEvents } from './projections/orders.projection.js';
export { SalesProjection, salesProjectionEvents } from './projections/sales.projection.js';
export { OrderingModule } from './ordering.module.js';

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
