import { Entity, PrimaryKey, Property } from '@mikro-orm/decorators/legacy';
import { OrderingEvents, type OrderLineV1 } from '@emporium/contracts';
import { AggregateRoot } from '@emporium/domain';
import { InvalidOrder, InvalidOrderState } from './order.errors.js';

export type OrderStatus = 'placed' | 'paid' | 'shipped' | 'cancelled';
export type OrderLine = OrderLineV1;

export const MAX_ORDER_LINES = 50;
export const MAX_LINE_QUANTITY = 1000;

/**
 * An order and its life cycle: placed -> paid -> shipped, or cancelled before shipping. Lines
 * are a value snapshot of the products at the time of ordering (price, name, category).
 */
@Entity({ tableName: 'orders' })
export class Order extends AggregateRoot {
  @PrimaryKey({ type: 'uuid' })
  readonly id!: string;

  @Property({ type: 'uuid' })
  readonly customerId!: string;

  @Property({ type: 'string', length: 16 })
  status!: OrderStatus;

  @Property({ type: 'json' })
  readonly lines!: OrderLine[];

  @Property({ type: 'bigint', runtimeType: 'number' })
  readonly totalCents!: number;

  @Property({ type: 'character', length: 3 })
  readonly currency!: string;

  @Property({ type: 'uuid', nullable: true })
  paymentId?: string;

  @Property({ type: 'datetime' })
  readonly placedAt!: Date;

  @Property({ type: 'datetime' })
  updatedAt!: Date;

  /** One per recorded event; the optimistic lock too (see AggregateRoot). */
  @Property({ type: 'integer', concurrencyCheck: true })
  streamVersion!: number;

  constructor(props: { id: string; customerId: string; lines: OrderLine[]; currency: string }) {
    super();
    // MikroORM instantiates entities without arguments while it discovers metadata.
    if (props === undefined) return;
    if (props.lines.length === 0 || props.lines.length > MAX_ORDER_LINES) {
      throw new InvalidOrder(`an order has 1 to ${MAX_ORDER_LINES} lines`);
    }
    for (const line of props.lines) {
      if (!Number.isSafeInteger(line.quantity) || line.quantity < 1 || line.quantity > MAX_LINE_QUANTITY) {
        throw new InvalidOrder(`quantity must be an integer from 1 to ${MAX_LINE_QUANTITY}`);
      }
    }
    const totalCents = props.lines.reduce((sum, l) => sum + l.unitPriceCents * l.quantity, 0);
    const now = new Date();
    Object.assign(this, { ...props, totalCents, status: 'placed', placedAt: now, updatedAt: now });
    this.record(OrderingEvents.OrderPlaced, {
      customerId: this.customerId,
      lines: this.lines,
      totalCents,
      currency: this.currency,
    });
  }

  /** Payment is simulated: it always succeeds and gets a payment id. */
  pay(): void {
    if (this.status !== 'placed') throw new InvalidOrderState(this.id, 'paid', this.status);
    this.paymentId = crypto.randomUUID();
    this.transition('paid');
    this.record(OrderingEvents.OrderPaid, { paymentId: this.paymentId, amountCents: this.totalCents });
  }

  ship(): void {
    if (this.status !== 'paid') throw new InvalidOrderState(this.id, 'shipped', this.status);
    this.transition('shipped');
    this.record(OrderingEvents.OrderShipped, {});
  }

  /** Cancels and returns the lines whose stock the caller must release. */
  cancel(reason: string): OrderLine[] {
    if (this.status !== 'placed' && this.status !== 'paid') {
      throw new InvalidOrderState(this.id, 'cancelled', this.status);
    }
    this.transition('cancelled');
    this.record(OrderingEvents.OrderCancelled, {
      customerId: this.customerId,
      lines: this.lines,
      totalCents: this.totalCents,
      currency: this.currency,
      reason,
    });
    return this.lines;
  }

  isVisibleTo(actor: { id: string; roles: readonly string[] }): boolean {
    return actor.roles.includes('admin') || actor.id === this.customerId;
  }

  private transition(status: OrderStatus): void {
    this.status = status;
    this.updatedAt = new Date();
  }
}
