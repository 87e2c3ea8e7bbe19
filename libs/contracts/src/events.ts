/**
 * Event types and payloads, version 1. A breaking change adds a new schemaVersion and keeps
 * consumers of the old one working until every producer has moved on.
 */
export const IdentityEvents = { UserRegistered: 'identity.user.registered' } as const;

export const CatalogEvents = {
  ProductCreated: 'catalog.product.created',
  ProductUpdated: 'catalog.product.updated',
  PriceChanged: 'catalog.product.price-changed',
  Restocked: 'catalog.product.restocked',
  Discontinued: 'catalog.product.discontinued',
  StockReserved: 'catalog.product.stock-reserved',
  StockReleased: 'catalog.product.stock-released',
} as const;

export const OrderingEvents = {
  OrderPlaced: 'ordering.order.placed',
  OrderPaid: 'ordering.order.paid',
  OrderShipped: 'ordering.order.shipped',
  OrderCancelled: 'ordering.order.cancelled',
} as const;

export interface UserRegisteredV1 {
  email: string;
  name: string;
  roles: string[];
}

export interface ProductSnapshotV1 {
  sku: string;
  name: string;
  description: string;
  category: string;
  priceCents: number;
  currency: string;
  stock: number;
  status: 'active' | 'discontinued';
}

export type ProductCreatedV1 = ProductSnapshotV1;
export type ProductUpdatedV1 = Pick<ProductSnapshotV1, 'name' | 'description' | 'category'>;
export interface PriceChangedV1 {
  priceCents: number;
  previousPriceCents: number;
  currency: string;
}
export interface RestockedV1 {
  quantity: number;
  stock: number;
}
export type DiscontinuedV1 = Record<string, never>;
export interface StockReservedV1 {
  orderId: string;
  quantity: number;
  stock: number;
}
export interface StockReleasedV1 {
  orderId: string;
  quantity: number;
  stock: number;
}

export interface OrderLineV1 {
  productId: string;
  name: string;
  category: string;
  quantity: number;
  unitPriceCents: number;
}

export interface OrderPlacedV1 {
  customerId: string;
  lines: OrderLineV1[];
  totalCents: number;
  currency: string;
}
export interface OrderPaidV1 {
  paymentId: string;
  amountCents: number;
}
export type OrderShippedV1 = Record<string, never>;
export interface OrderCancelledV1 {
  customerId: string;
  lines: OrderLineV1[];
  totalCents: number;
  currency: string;
  reason: string;
}
