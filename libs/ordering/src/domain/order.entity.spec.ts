import { OrderingEvents } from '@emporium/contracts';
import { Money } from '@emporium/domain';
import { anAdmin, anOrder } from '@emporium/testing';
import { OrderLine } from './order-line.js';
import { Order, PAYMENT_TIMEOUT } from './order.entity.js';
import { InvalidOrder, InvalidOrderState, MixedCurrencies, OnlyOwnerPays, PaymentNotOverdue } from './order.errors.js';

const owner = (order: Order): { id: string; roles: string[] } => ({ id: order.customerId, roles: ['customer'] });

describe('Order', () => {
  it('computes the total in minor units and records the placement in the contract shape', () => {
    const order = anOrder().withLine({ unitPriceCents: 1000 }, 2).withLine({ unitPriceCents: 5 }, 3).build();
    expect(order.total).toEqual(Money.of(2015, 'EUR'));
    expect(order.status).toBe('placed');
    const [placed] = order.pullEvents();
    expect(placed).toMatchObject({ type: OrderingEvents.OrderPlaced, aggregateVersion: 1 });
    expect(placed.payload).toEqual({
      customerId: order.customerId,
      totalCents: 2015,
      currency: 'EUR',
      lines: order.lines.map((l) => ({
        productId: l.productId,
        name: l.name,
        category: l.category,
        quantity: l.quantity,
        unitPriceCents: l.unitPrice.minor,
      })),
    });
    expect(order.lines[0]).toBeInstanceOf(OrderLine);
  });

  it('is paid in one currency', () => {
    expect(() => anOrder().withLine({ currency: 'EUR' }).withLine({ currency: 'USD' }).build()).toThrow(
      MixedCurrencies,
    );
  });

  it('has 1 to 50 lines', () => {
    expect(() => new Order({ id: crypto.randomUUID(), customerId: crypto.randomUUID(), lines: [] })).toThrow(
      InvalidOrder,
    );
    const tooMany = anOrder();
    for (let i = 0; i < 51; i++) tooMany.withLine({});
    expect(() => tooMany.build()).toThrow(InvalidOrder);
  });

  it.each([0, 1001, 1.5])('refuses quantity %p', (quantity) => {
    expect(() => anOrder().withLine({}, quantity).build()).toThrow(InvalidOrder);
  });

  it('has one line per product, adding up the quantities of a product asked for twice', () => {
    const [a, b] = ['b0000000-0000-4000-8000-000000000000', 'a0000000-0000-4000-8000-000000000000'];
    expect(
      Order.requestedQuantities([
        { productId: a, quantity: 2 },
        { productId: b, quantity: 1 },
        { productId: a, quantity: 3 },
      ]),
    ).toEqual([
      { productId: b, quantity: 1 },
      { productId: a, quantity: 5 },
    ]);
    expect(() =>
      Order.requestedQuantities([
        { productId: a, quantity: 600 },
        { productId: a, quantity: 600 },
      ]),
    ).toThrow(InvalidOrder);
    expect(() => anOrder().withLine({ productId: a }).withLine({ productId: a }).build()).toThrow(
      /one line per product/,
    );
  });

  it('ships only after payment', () => {
    const order = anOrder().existing();
    expect(() => order.ship()).toThrow(InvalidOrderState);
    order.pay(owner(order));
    order.ship();
    expect(order.status).toBe('shipped');
    expect(order.pullEvents().map((e) => [e.type, e.aggregateVersion])).toEqual([
      [OrderingEvents.OrderPaid, 2],
      [OrderingEvents.OrderShipped, 3],
    ]);
  });

  it('is paid by its owner only', () => {
    const order = anOrder().existing();
    expect(() => order.pay(anAdmin().build())).toThrow(OnlyOwnerPays);
    expect(order.status).toBe('placed');
    order.pay(owner(order));
    expect(order.pullEvents()[0].payload).toMatchObject({ amountCents: order.total.minor });
    expect(() => order.pay(owner(order))).toThrow(InvalidOrderState);
  });

  it('cannot be cancelled after shipping, nor twice', () => {
    expect(() => anOrder().shipped().existing().cancel('x')).toThrow(InvalidOrderState);

    const cancelled = anOrder().withLine({}).withLine({}).existing();
    expect(cancelled.cancel('changed my mind')).toHaveLength(2);
    expect(() => cancelled.cancel('again')).toThrow(InvalidOrderState);
    expect(() => cancelled.pay(owner(cancelled))).toThrow(InvalidOrderState);
  });

  it('can be cancelled after payment, returning the lines to release', () => {
    const order = anOrder().withLine({}, 2).withLine({}, 1).paid().existing();
    const lines = order.cancel('refund');
    expect(lines.map((l) => l.quantity)).toEqual([2, 1]);
    expect(order.pullEvents()[0]).toMatchObject({
      type: OrderingEvents.OrderCancelled,
      payload: { reason: 'refund', totalCents: order.total.minor },
    });
  });

  it('expires only while unpaid and once its payment period is over', () => {
    const order = anOrder().withLine({}, 2).withLine({}, 1).existing();
    const timeoutMs = 60_000;
    const justBefore = new Date(order.placedAt.getTime() + timeoutMs - 1);
    expect(() => order.expire(justBefore, timeoutMs)).toThrow(PaymentNotOverdue);
    expect(order.status).toBe('placed');

    const overdue = new Date(order.placedAt.getTime() + timeoutMs);
    expect(order.expire(overdue, timeoutMs).map((l) => l.quantity)).toEqual([2, 1]);
    expect(order.status).toBe('cancelled');
    expect(order.pullEvents()).toEqual([
      expect.objectContaining({
        type: OrderingEvents.OrderCancelled,
        payload: expect.objectContaining({ reason: PAYMENT_TIMEOUT }),
      }),
    ]);
    expect(() => order.expire(overdue, timeoutMs)).toThrow(InvalidOrderState);

    const paid = anOrder().paid().existing();
    expect(() => paid.expire(new Date(paid.placedAt.getTime() + 10 * timeoutMs), timeoutMs)).toThrow(
      InvalidOrderState,
    );
    expect(paid.status).toBe('paid');
  });

  it('is visible to its owner and admins only', () => {
    const order = anOrder().existing();
    expect(order.isVisibleTo({ id: order.customerId, roles: ['customer'] })).toBe(true);
    expect(order.isVisibleTo({ id: 'someone-else', roles: ['customer'] })).toBe(false);
    expect(order.isVisibleTo({ id: 'admin', roles: ['admin'] })).toBe(true);
  });
});
