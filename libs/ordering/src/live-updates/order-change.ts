import type { Actor } from '@emporium/domain';
import type { OrderStatus } from '../domain/order.entity.js';

/** The order events a live stream carries, and the order status each one leaves behind. */
export const ORDER_STREAM_EVENTS = {
  'ordering.order.placed': 'placed',
  'ordering.order.paid': 'paid',
  'ordering.order.shipped': 'shipped',
  'ordering.order.cancelled': 'cancelled',
} as const satisfies Record<string, OrderStatus>;

export type OrderStreamEventType = keyof typeof ORDER_STREAM_EVENTS;

/**
 * Where a stream stands in `event_log`: the transaction id and position of the last event it
 * covers. Streams advance in (transaction id, position) order and only over transactions that
 * can no longer commit anything earlier (docs/adr/0019-live-order-updates.md), so a cursor has
 * no holes behind it.
 */
export interface StreamCursor {
  txId: string;
  position: string;
}

/** The start of `event_log`: a resume from "0" replays from the beginning (within the bounds). */
export const ORIGIN: StreamCursor = { txId: '0', position: '0' };

/** One change of one order, as a live stream sends it. */
export interface OrderChange extends StreamCursor {
  type: OrderStreamEventType;
  orderId: string;
  customerId: string | null;
  status: OrderStatus;
  version: number;
  occurredAt: string;
}

export function compareCursors(a: StreamCursor, b: StreamCursor): number {
  const tx = BigInt(a.txId) - BigInt(b.txId);
  if (tx !== 0n) return tx < 0n ? -1 : 1;
  const position = BigInt(a.position) - BigInt(b.position);
  return position === 0n ? 0 : position < 0n ? -1 : 1;
}

/** A customer sees their own orders; an admin sees every order. */
export function canSee(actor: Actor, change: OrderChange): boolean {
  return actor.roles.includes('admin') || change.customerId === actor.id;
}
