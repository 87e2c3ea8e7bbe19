import { CatalogEvents } from '@emporium/contracts';
import { CurrencyMismatch, InvalidMoney, Money } from '@emporium/domain';
import { aProduct } from '@emporium/testing';
import { MAX_PRICE_CENTS } from './product.entity.js';
import { InvalidProduct, OutOfStock, ProductDiscontinued, ProductsUnavailable } from './product.errors.js';
import { StockReservation } from './stock-reservation.js';

describe('Product', () => {
  it('records a created event carrying the full snapshot', () => {
    const product = aProduct().withSku('A-1').pricedAt(0).withStock(0).build();
    const [event] = product.pullEvents();
    expect(event.type).toBe(CatalogEvents.ProductCreated);
    expect(event.aggregateVersion).toBe(1);
    expect(event.payload).toMatchObject({ sku: 'A-1', priceCents: 0, currency: 'EUR', stock: 0, status: 'active' });
    expect(product.pullEvents()).toEqual([]);
  });

  it.each([-1, MAX_PRICE_CENTS + 1])('refuses price %p', (priceCents) => {
    expect(() => aProduct().pricedAt(priceCents).build()).toThrow(InvalidProduct);
    expect(() => aProduct().existing().changePrice(Money.of(priceCents, 'EUR'))).toThrow(InvalidProduct);
  });

  it('keeps prices in minor units of its one currency', () => {
    const product = aProduct().pricedAt(1299, 'EUR').existing();
    product.changePrice(Money.of(1499, 'EUR'));
    expect(product.price).toEqual(Money.of(1499, 'EUR'));
    expect(product.pullEvents()[0].payload).toEqual({ priceCents: 1499, previousPriceCents: 1299, currency: 'EUR' });
    expect(() => product.changePrice(Money.of(1499, 'USD'))).toThrow(CurrencyMismatch);
    expect(() => aProduct().pricedAt(12.5)).toThrow(InvalidMoney);
  });

  it('reserves stock and reports the remaining quantity', () => {
    const product = aProduct().withStock(3).existing();
    product.reserve('order-1', 2);
    expect(product.stock).toBe(1);
    expect(product.pullEvents()[0]).toMatchObject({
      type: CatalogEvents.StockReserved,
      payload: { orderId: 'order-1', quantity: 2, stock: 1 },
    });
  });

  it('refuses to reserve more than is in stock, naming the product, and changes nothing', () => {
    const product = aProduct().named('Blue mug').withSku('MUG-1').withStock(1).existing();
    expect(() => product.reserve('order-1', 2)).toThrow(
      new OutOfStock([{ productId: product.id, sku: 'MUG-1', name: 'Blue mug', requested: 2, available: 1 }]),
    );
    expect(product.stock).toBe(1);
    expect(product.pullEvents()).toEqual([]);
  });

  it('refuses changes once discontinued but still takes back released stock', () => {
    const product = aProduct().withStock(1).discontinued().existing();
    expect(() => product.changePrice(Money.of(10, 'EUR'))).toThrow(ProductDiscontinued);
    expect(() => product.restock(1)).toThrow(ProductDiscontinued);
    expect(() => product.update({ name: 'x' })).toThrow(ProductDiscontinued);
    expect(() => product.reserve('o', 1)).toThrow(ProductsUnavailable);
    product.release('o', 2);
    expect(product.stock).toBe(3);
  });

  it('may record several events in one command, each at the next stream version', () => {
    const product = aProduct().existing();
    product.restock(1);
    product.changePrice(Money.of(10, 'EUR'));
    expect(product.pullEvents().map((e) => [e.type, e.aggregateVersion])).toEqual([
      [CatalogEvents.Restocked, 2],
      [CatalogEvents.PriceChanged, 3],
    ]);
    expect(product.streamVersion).toBe(3);
  });

  it.each([0, -3, 2.5])('refuses restock quantity %p', (quantity) => {
    expect(() => aProduct().existing().restock(quantity)).toThrow(InvalidProduct);
  });

  it('refuses an update that changes nothing, rather than recording an empty event', () => {
    const product = aProduct().existing();
    expect(() => product.update({})).toThrow(/nothing to update/);
    expect(product.pullEvents()).toEqual([]);
  });
});

const thrownBy = (act: () => unknown): ProductsUnavailable => {
  try {
    act();
  } catch (error) {
    return error as ProductsUnavailable;
  }
  throw new Error('expected a refusal');
};

describe('StockReservation', () => {
  it('reserves on every product or on none, naming every short product', () => {
    const plenty = aProduct().withStock(5).existing();
    const scarce = aProduct().named('Linen apron').withSku('APRON-1').withStock(1).existing();
    const reservation = StockReservation.of(
      [
        { productId: plenty.id, quantity: 2 },
        { productId: scarce.id, quantity: 2 },
      ],
      [plenty, scarce],
    );
    expect(() => reservation.reserveFor('order-1')).toThrow(
      new OutOfStock([{ productId: scarce.id, sku: 'APRON-1', name: 'Linen apron', requested: 2, available: 1 }]),
    );
    expect([plenty.stock, scarce.stock]).toEqual([5, 1]);
    expect([...plenty.pullEvents(), ...scarce.pullEvents()]).toEqual([]);
  });

  it('refuses unknown and discontinued products together, before looking at stock', () => {
    const gone = aProduct().named('Old mug').withSku('OLD-1').withStock(0).discontinued().existing();
    const unknownId = crypto.randomUUID();
    const refusal = (): StockReservation =>
      StockReservation.of(
        [
          { productId: unknownId, quantity: 1 },
          { productId: gone.id, quantity: 1 },
        ],
        [gone],
      );
    expect(refusal).toThrow(ProductsUnavailable);
    expect(refusal).toThrow(/unknown products: .*; discontinued products: Old mug \(SKU OLD-1/);
    expect(thrownBy(refusal).details).toEqual({
      unknownProducts: [unknownId],
      discontinuedProducts: [{ productId: gone.id, sku: 'OLD-1', name: 'Old mug' }],
    });
  });

  it('reserves every item when all can be, one event per product', () => {
    const a = aProduct().withStock(2).existing();
    const b = aProduct().withStock(3).existing();
    StockReservation.of(
      [
        { productId: a.id, quantity: 2 },
        { productId: b.id, quantity: 1 },
      ],
      [a, b],
    ).reserveFor('order-1');
    expect([a.stock, b.stock]).toEqual([0, 2]);
    expect([...a.pullEvents(), ...b.pullEvents()].map((e) => e.type)).toEqual([
      CatalogEvents.StockReserved,
      CatalogEvents.StockReserved,
    ]);
  });
});
