import { OrderingEvents } from '@emporium/contracts';
import { Order, PAYMENT_TIMEOUT, type OrderLine } from './order.entity.js';
import { InvalidOrder, InvalidOrderState, PaymentNotOverdue } from './order.errors.js';

const line = (overrides: Partial<OrderLine> = {}): OrderLine => ({
  productId: crypto.randomUUID(),
  name: 'Mug',
  category: 'kitchen',
  quantity: 2,
  unitPriceCents: 1000,
  ...overrides,
});

const anOrder = (lines: OrderLine[] = [line(), line({ quantity: 1, unitPriceCents: 250 })]): Order => {
  const order = new Order({ id: crypto.randomUUID(), customerId: crypto.randomUUID(), currency: 'EUR', lines });
  order.pullEvents();
  return order;
};

describe('Order', () => {
  it('computes the total in minor units and records the placement', () => {
    const order = new Order({
      id: crypto.randomUUID(),
      customerId: 'c',
      currency: 'EUR',
      lines: [line(), line({ quantity: 3, unitPriceCents: 5 })],
    });
    expect(order.totalCents).toBe(2015);
    expect(order.status).toBe('placed');
    expect(order.pullEvents()[0]).toMatchObject({ type: OrderingEvents.OrderPlaced, payload: { totalCents: 2015 } });
  });

  it.each([[[]], [Array.from({ length: 51 }, () => line())], [[line({ quantity: 0 })]], [[line({ quantity: 1001 })]]])(
    'refuses invalid lines %#',
    (lines) => {
      expect(() => new Order({ id: 'o', customerId: 'c', currency: 'EUR', lines })).toThrow(InvalidOrder);
    },
  );

  it('ships only after payment', () => {
    const order = anOrder();
    expect(() => order.ship()).toThrow(InvalidOrderState);
    order.pay();
    order.pullEvents();
    order.ship();
    expect(order.status).toBe('shipped');
  });

  it('cannot be cancelled after shipping, nor twice', () => {
    const shipped = anOrder();
    shipped.pay();
    shipped.pullEvents();
    shipped.ship();
    shipped.pullEvents();
    expect(() => shipped.cancel('x')).toThrow(InvalidOrderState);

    const cancelled = anOrder();
    expect(cancelled.cancel('changed my mind')).toHaveLength(2);
    cancelled.pullEvents();
    expect(() => cancelled.cancel('again')).toThrow(InvalidOrderState);
    expect(() => cancelled.pay()).toThrow(InvalidOrderState);
  });

  it('can be cancelled after payment, returning the lines to release', () => {
    const order = anOrder();
    order.pay();
    order.pullEvents();
    const lines = order.cancel('refund');
    expect(lines.map((l) => l.quantity)).toEqual([2, 1]);
    expect(order.pullEvents()[0].type).toBe(OrderingEvents.OrderCancelled);
  });

  it('expires only while unpaid and once its payment period is over', () => {
    const order = anOrder();
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

    const paid = anOrder();
    paid.pay();
    paid.pullEvents();
    expect(() => paid.expire(new Date(paid.placedAt.getTime() + 10 * timeoutMs), timeoutMs)).toThrow(InvalidOrderState);
    expect(paid.status).toBe('paid');
  });

  it('is visible to its owner and admins only', () => {
    const order = anOrder();
    expect(order.isVisibleTo({ id: order.customerId, roles: ['customer'] })).toBe(true);
    expect(order.isVisibleTo({ id: 'someone-else', roles: ['customer'] })).toBe(false);
    expect(order.isVisibleTo({ id: 'admin', roles: ['admin'] })).toBe(true);
  });
});
