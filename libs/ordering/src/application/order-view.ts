import type { OrdersTable } from '@emporium/database';
import type { Selectable } from 'kysely';
import type { OrderLineV1 } from '@emporium/contracts';
import type { OrderStatus } from '../domain/order.entity.js';

export interface OrderView {
  id: string;
  customerId: string;
  status: OrderStatus;
  lines: OrderLineV1[];
  totalCents: number;
  currency: string;
  placedAt: string;
  updatedAt: string;
  timeline: Array<{ status: OrderStatus; at: string }>;
  version: number;
}

export const ORDER_COLUMNS = [
  'id',
  'customer_id',
  'status',
  'lines',
  'total_cents',
  'currency',
  'placed_at',
  'updated_at',
  'timeline',
  'version',
] as const satisfies ReadonlyArray<keyof OrdersTable>;

export type OrderRow = Pick<Selectable<OrdersTable>, (typeof ORDER_COLUMNS)[number]>;

export function toOrderView(row: OrderRow): OrderView {
  return {
    id: row.id,
    customerId: row.customer_id,
    status: row.status,
    lines: row.lines,
    totalCents: Number(row.total_cents),
    currency: row.currency,
    placedAt: new Date(row.placed_at).toISOString(),
    updatedAt: new Date(row.updated_at).toISOString(),
    timeline: row.timeline,
    version: row.version,
  };
}
