import { CatalogEvents } from '@emporium/contracts';
import { Product, type NewProduct } from './product.entity.js';
import { InsufficientStock, InvalidProduct, ProductDiscontinued } from './product.errors.js';

const aProduct = (overrides: Partial<NewProduct> = {}): Product => {
  const product = new Product({
    id: crypto.randomUUID(),
    sku: 'MUG-1',
    name: 'Blue mug',
    description: 'A sturdy mug',
    category: 'kitchen',
    priceCents: 1299,
    currency: 'EUR',
    stock: 5,
    ...overrides,
  });
  product.pullEvents();
  return product;
};

describe('Product', () => {
  it('records a created event carrying the full snapshot', () => {
    const product = new Product({
      id: crypto.randomUUID(),
      sku: 'A-1',
      name: 'A',
      description: '',
      category: 'c',
      priceCents: 0,
      currency: 'EUR',
      stock: 0,
    });
    const [event] = product.pullEvents();
    expect(event.type).toBe(CatalogEvents.ProductCreated);
    expect(event.payload).toMatchObject({ sku: 'A-1', priceCents: 0, stock: 0, status: 'active' });
    expect(product.pullEvents()).toEqual([]);
  });

  it.each([-1, 1.5, Number.MAX_SAFE_INTEGER])('refuses price %p', (priceCents) => {
    expect(() => aProduct({ priceCents })).toThrow(InvalidProduct);
    expect(() => aProduct().changePrice(priceCents)).toThrow(InvalidProduct);
  });

  it('reserves stock and reports the remaining quantity', () => {
    const product = aProduct({ stock: 3 });
    product.reserve('order-1', 2);
    expect(product.stock).toBe(1);
    expect(product.pullEvents()[0]).toMatchObject({
      type: CatalogEvents.StockReserved,
      payload: { orderId: 'order-1', quantity: 2, stock: 1 },
    });
  });

  it('refuses to reserve more than is in stock and changes nothing', () => {
    const product = aProduct({ stock: 1 });
    expect(() => product.reserve('order-1', 2)).toThrow(InsufficientStock);
    expect(product.stock).toBe(1);
    expect(product.pullEvents()).toEqual([]);
  });

  it('refuses changes once discontinued but still takes back released stock', () => {
    const product = aProduct({ stock: 1 });
    product.discontinue();
    product.pullEvents();
    expect(() => product.changePrice(10)).toThrow(ProductDiscontinued);
    expect(() => product.restock(1)).toThrow(ProductDiscontinued);
    expect(() => product.reserve('o', 1)).toThrow(ProductDiscontinued);
    expect(() => product.update({ name: 'x' })).toThrow(ProductDiscontinued);
    product.release('o', 2);
    expect(product.stock).toBe(3);
  });

  it('may record several events in one command, each at the next stream version', () => {
    const product = aProduct();
    product.restock(1);
    product.changePrice(10);
    expect(product.pullEvents().map((e) => [e.type, e.aggregateVersion])).toEqual([
      [CatalogEvents.Restocked, 2],
      [CatalogEvents.PriceChanged, 3],
    ]);
  });

  it.each([0, -3, 2.5])('refuses restock quantity %p', (quantity) => {
    expect(() => aProduct().restock(quantity)).toThrow(InvalidProduct);
  });
});

describe('Product limits', () => {
  it('refuses an update that changes nothing, rather than recording an empty event', () => {
    const product = new Product({
      id: crypto.randomUUID(),
      sku: 'B-1',
      name: 'B',
      description: '',
      category: 'c',
      priceCents: 1,
      currency: 'EUR',
      stock: 1,
    });
    product.pullEvents();
    expect(() => product.update({})).toThrow(/nothing to update/);
    expect(product.pullEvents()).toEqual([]);
  });
});
