import { Entity, PrimaryKey, Property } from '@mikro-orm/decorators/legacy';
import { OrderingEvents } from '@emporium/contracts';
import { AggregateRoot, Money, type Actor } from '@emporium/domain';
import { assertLineQuantity, OrderLine, type NewOrderLine } from './order-line.js';
import { InvalidOrder, InvalidOrderState, MixedCurrencies, OnlyOwnerPays, PaymentNotOverdue } from './order.errors.js';

export type OrderStatus = 'placed' | 'paid' | 'shipped' | 'cancelled';

export const MAX_ORDER_LINES = 50;
/** The reason the system gives when it cancels an order whose payment is overdue. */
export const PAYMENT_TIMEOUT = 'payment-timeout';

/** How a line is stored in `orders.lines` (jsonb); the currency is the order's. */
interface StoredOrderLine {
  productId: string;
  name: string;
  category: string;
  quantity: number;
  unitPriceCents: number;
}

/**
 * An order and its life cycle: placed -> paid -> shipped, or cancelled before shipping. Lines
 * are a value snapshot of the products at the time of ordering (price, name, category), all in
 * the order's one currency.
 */
@Entity({ tableName: 'orders' })
export class Order extends AggregateRoot {
  @PrimaryKey({ type: 'uuid' })
  readonly id!: string;

  @Property({ type: 'uuid' })
  readonly customerId!: string;

  @Property({ type: 'string', length: 16 })
  status!: OrderStatus;

  // `lines` and `total` are the domain's view of these columns.
  @Property({ type: 'json', fieldName: 'lines' })
  private readonly storedLines!: StoredOrderLine[];

  @Property({ type: 'bigint', runtimeType: 'number' })
  private readonly totalCents!: number;

  @Property({ type: 'character', length: 3 })
  private readonly currency!: string;

  @Property({ type: 'uuid', nullable: true })
  paymentId?: string;

  @Property({ type: 'datetime' })
  readonly placedAt!: Date;

  @Property({ type: 'datetime' })
  updatedAt!: Date;

  /** One per recorded event; the optimistic lock too (see AggregateRoot). */
  @Property({ type: 'integer', concurrencyCheck: true })
  streamVersion!: number;

  /** Places an order: 1 to MAX_ORDER_LINES lines, one per product, all priced in one currency. */
  constructor(props: { id: string; customerId: string; lines: readonly NewOrderLine[] }) {
    super();
    // MikroORM instantiates entities without arguments while it discovers metadata.
    if (props === undefined) return;
    const lines = props.lines.map((line) => OrderLine.of(line));
    if (lines.length === 0 || lines.length > MAX_ORDER_LINES) {
      throw new InvalidOrder(`an order has 1 to ${MAX_ORDER_LINES} lines`);
    }
    if (new Set(lines.map((l) => l.productId)).size !== lines.length) {
      throw new InvalidOrder('an order has one line per product');
    }
    const currencies = [...new Set(lines.map((l) => l.unitPrice.currency))];
    if (currencies.length > 1) throw new MixedCurrencies(currencies);
    const total = Money.sum(
      lines.map((l) => l.total),
      currencies[0],
    );
    const now = new Date();
    Object.assign(this, {
      id: props.id,
      customerId: props.customerId,
      storedLines: lines.map((l) => l.toContract()),
      totalCents: total.minor,
      currency: total.currency,
      status: 'placed',
      placedAt: now,
      updatedAt: now,
    });
    this.record(OrderingEvents.OrderPlaced, {
      customerId: this.customerId,
      lines: lines.map((l) => l.toContract()),
      totalCents: total.minor,
      currency: total.currency,
    });
  }

  /**
   * The lines a customer asked for, one per product (quantities of a product named twice are
   * added up) in product id order: the order in which their stock rows are locked.
   */
  static requestedQuantities(
    lines: ReadonlyArray<{ productId: string; quantity: number }>,
  ): Array<{ productId: string; quantity: number }> {
    const quantities = new Map<string, number>();
    for (const { productId, quantity } of lines) quantities.set(productId, (quantities.get(productId) ?? 0) + quantity);
    for (const [productId, quantity] of quantities) assertLineQuantity(productId, quantity);
    return [...quantities]
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([productId, quantity]) => ({ productId, quantity }));
  }

  get lines(): readonly OrderLine[] {
    return this.storedLines.map((l) => OrderLine.of({ ...l, unitPrice: Money.of(l.unitPriceCents, this.currency) }));
  }

  get total(): Money {
    return Money.of(this.totalCents, this.currency);
  }

  /** Payment is simulated: it always succeeds and gets a payment id. Only the owner pays. */
  pay(payer: Actor): void {
    if (payer.id !== this.customerId) throw new OnlyOwnerPays(this.id);
    if (this.status !== 'placed') throw new InvalidOrderState(this.id, 'paid', this.status);
    this.paymentId = crypto.randomUUID();
    this.transition('paid');
    this.record(OrderingEvents.OrderPaid, { paymentId: this.paymentId, amountCents: this.total.minor });
  }

  ship(): void {
    if (this.status !== 'paid') throw new InvalidOrderState(this.id, 'shipped', this.status);
    this.transition('shipped');
    this.record(OrderingEvents.OrderShipped, {});
  }

  /** Cancels and returns the lines whose stock the caller must release. */
  cancel(reason: string): readonly OrderLine[] {
    if (this.status !== 'placed' && this.status !== 'paid') {
      throw new InvalidOrderState(this.id, 'cancelled', this.status);
    }
    this.transition('cancelled');
    const lines = this.lines;
    this.record(OrderingEvents.OrderCancelled, {
      customerId: this.customerId,
      lines: lines.map((l) => l.toContract()),
      totalCents: this.total.minor,
      currency: this.total.currency,
      reason,
    });
    return lines;
  }

  /**
   * Cancels an order still unpaid `timeoutMs` after it was placed, and returns the lines whose
   * stock the caller must release. A paid, shipped or cancelled order, or one not yet overdue at
   * `now`, is not expired.
   */
  expire(now: Date, timeoutMs: number): readonly OrderLine[] {
    if (this.status !== 'placed') throw new InvalidOrderState(this.id, 'expired', this.status);
    if (now.getTime() - this.placedAt.getTime() < timeoutMs) throw new PaymentNotOverdue(this.id);
    return this.cancel(PAYMENT_TIMEOUT);
  }

  isVisibleTo(actor: Actor): boolean {
    return actor.roles.includes('admin') || actor.id === this.customerId;
  }

  private transition(status: OrderStatus): void {
    this.status = status;
    this.updatedAt = new Date();
  }
}
