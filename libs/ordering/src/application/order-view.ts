import type { OrderLineV1 } from '@emporium/contracts';
import { DomainError } from '@emporium/domain';
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

export interface OrderRow {
  id: string;
  customer_id: string;
  status: OrderStatus;
  lines: OrderLineV1[];
  total_cents: string;
  currency: string;
  placed_at: Date;
  updated_at: Date;
  timeline: Array<{ status: OrderStatus; at: string }>;
  version: number;
}

export const ORDER_COLUMNS =
  'id, customer_id, status, lines, total_cents, currency, placed_at, updated_at, timeline, version';

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

export class InvalidOrderCursor extends DomainError {
  readonly kind = 'invalid';
  readonly code = 'invalid-cursor';
  constructor() {
    super('cursor is malformed');
  }
}
