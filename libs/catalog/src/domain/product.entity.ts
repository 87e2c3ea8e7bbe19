import { Entity, PrimaryKey, Property } from '@mikro-orm/decorators/legacy';
import { CatalogEvents, type ProductSnapshotV1 } from '@emporium/contracts';
import { AggregateRoot, CurrencyMismatch, Money } from '@emporium/domain';
import {
  InvalidProduct,
  OutOfStock,
  ProductDiscontinued,
  ProductsUnavailable,
  type ProductReference,
  type StockShortage,
} from './product.errors.js';

export type ProductStatus = 'active' | 'discontinued';

export interface NewProduct {
  id: string;
  sku: string;
  name: string;
  description: string;
  category: string;
  price: Money;
  stock: number;
}

export const MAX_PRICE_CENTS = 100_000_000;
export const MAX_STOCK = 1_000_000_000;

function assertPrice(price: Money): void {
  if (price.minor < 0 || price.minor > MAX_PRICE_CENTS) {
    throw new InvalidProduct(`priceCents must be an integer from 0 to ${MAX_PRICE_CENTS}`);
  }
}

function assertQuantity(quantity: number, what: string): void {
  if (!Number.isSafeInteger(quantity) || quantity <= 0) throw new InvalidProduct(`${what} must be a positive integer`);
}

/** The catalog's aggregate: what is sold, at what price, and how many are left to reserve. */
@Entity({ tableName: 'products' })
export class Product extends AggregateRoot {
  @PrimaryKey({ type: 'uuid' })
  readonly id!: string;

  @Property({ type: 'string', length: 64 })
  readonly sku!: string;

  @Property({ type: 'string', length: 200 })
  name!: string;

  @Property({ type: 'text' })
  description!: string;

  @Property({ type: 'string', length: 64 })
  category!: string;

  // The price is `price` (Money); these are its columns.
  @Property({ type: 'integer' })
  private priceCents!: number;

  @Property({ type: 'character', length: 3 })
  private readonly currency!: string;

  @Property({ type: 'integer' })
  stock!: number;

  @Property({ type: 'string', length: 16 })
  status!: ProductStatus;

  @Property({ type: 'datetime' })
  readonly createdAt!: Date;

  @Property({ type: 'datetime' })
  updatedAt!: Date;

  /** One per recorded event; the optimistic lock too (see AggregateRoot). */
  @Property({ type: 'integer', concurrencyCheck: true })
  streamVersion!: number;

  constructor(props: NewProduct) {
    super();
    // MikroORM instantiates entities without arguments while it discovers metadata.
    if (props === undefined) return;
    assertPrice(props.price);
    if (!Number.isSafeInteger(props.stock) || props.stock < 0 || props.stock > MAX_STOCK) {
      throw new InvalidProduct(`stock must be an integer from 0 to ${MAX_STOCK}`);
    }
    const { price, ...rest } = props;
    const now = new Date();
    Object.assign(this, { ...rest, status: 'active', createdAt: now, updatedAt: now });
    this.setPrice(price);
    this.record(CatalogEvents.ProductCreated, this.snapshot());
  }

  get price(): Money {
    return Money.of(this.priceCents, this.currency);
  }

  get isActive(): boolean {
    return this.status === 'active';
  }

  /** How errors and people name this product. */
  get reference(): ProductReference {
    return { productId: this.id, sku: this.sku, name: this.name };
  }

  update(changes: Partial<Pick<Product, 'name' | 'description' | 'category'>>): void {
    this.assertActive();
    if (changes.name === undefined && changes.description === undefined && changes.category === undefined) {
      throw new InvalidProduct('nothing to update: send name, description or category');
    }
    if (changes.name !== undefined) this.name = changes.name;
    if (changes.description !== undefined) this.description = changes.description;
    if (changes.category !== undefined) this.category = changes.category;
    this.touch();
    this.record(CatalogEvents.ProductUpdated, {
      name: this.name,
      description: this.description,
      category: this.category,
    });
  }

  /** A new price in the product's own currency: a product is always priced in one currency. */
  changePrice(price: Money): void {
    this.assertActive();
    if (price.currency !== this.currency) throw new CurrencyMismatch(this.currency, price.currency);
    assertPrice(price);
    const previous = this.price;
    this.setPrice(price);
    this.touch();
    this.record(CatalogEvents.PriceChanged, {
      priceCents: price.minor,
      previousPriceCents: previous.minor,
      currency: price.currency,
    });
  }

  restock(quantity: number): void {
    this.assertActive();
    assertQuantity(quantity, 'quantity');
    if (this.stock + quantity > MAX_STOCK) throw new InvalidProduct(`stock cannot exceed ${MAX_STOCK}`);
    this.stock += quantity;
    this.touch();
    this.record(CatalogEvents.Restocked, { quantity, stock: this.stock });
  }

  discontinue(): void {
    this.assertActive();
    this.status = 'discontinued';
    this.touch();
    this.record(CatalogEvents.Discontinued, {});
  }

  /** What reserving `quantity` would lack, or undefined when there is enough. */
  shortfall(quantity: number): StockShortage | undefined {
    return quantity > this.stock ? { ...this.reference, requested: quantity, available: this.stock } : undefined;
  }

  /**
   * Takes stock for an order. Several products at once go through StockReservation, which checks
   * every one of them with these same rules before it reserves any.
   */
  reserve(orderId: string, quantity: number): void {
    assertQuantity(quantity, 'quantity');
    if (!this.isActive) throw new ProductsUnavailable([], [this.reference]);
    const shortage = this.shortfall(quantity);
    if (shortage) throw new OutOfStock([shortage]);
    this.stock -= quantity;
    this.touch();
    this.record(CatalogEvents.StockReserved, { orderId, quantity, stock: this.stock });
  }

  /** Gives back what an order reserved; allowed after discontinuation (the units still exist). */
  release(orderId: string, quantity: number): void {
    assertQuantity(quantity, 'quantity');
    if (this.stock + quantity > MAX_STOCK) throw new InvalidProduct(`stock cannot exceed ${MAX_STOCK}`);
    this.stock += quantity;
    this.touch();
    this.record(CatalogEvents.StockReleased, { orderId, quantity, stock: this.stock });
  }

  private setPrice(price: Money): void {
    Object.assign(this, { priceCents: price.minor, currency: price.currency });
  }

  private assertActive(): void {
    if (!this.isActive) throw new ProductDiscontinued(this.id);
  }

  private touch(): void {
    this.updatedAt = new Date();
  }

  private snapshot(): ProductSnapshotV1 {
    return {
      sku: this.sku,
      name: this.name,
      description: this.description,
      category: this.category,
      priceCents: this.price.minor,
      currency: this.price.currency,
      stock: this.stock,
      status: this.status,
    };
  }
}
