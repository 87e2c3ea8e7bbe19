import { randomUUID } from 'node:crypto';
import { Product, type NewProduct } from '@emporium/catalog';
import { CommandContext, Money } from '@emporium/domain';
import { User, type Role } from '@emporium/identity';
import { Order, type NewOrderLine } from '@emporium/ordering';

/**
 * Test data builders: a valid aggregate by default, with fluent overrides for what a test is
 * about (eShop's Builders.cs). `build()` returns the aggregate as a command would create it, its
 * events still pending, ready for the unit of work; `existing()` returns it as if loaded from
 * the database (no pending events), for unit tests of what happens next.
 */
abstract class AggregateBuilder<T extends { pullEvents(): unknown[] }> {
  abstract build(): T;

  existing(): T {
    const aggregate = this.build();
    aggregate.pullEvents();
    return aggregate;
  }
}

const shortId = (): string => randomUUID().slice(0, 8);

export class ProductBuilder extends AggregateBuilder<Product> {
  private fields: NewProduct = {
    id: randomUUID(),
    sku: `MUG-${shortId()}`,
    name: 'Blue mug',
    description: 'A sturdy mug',
    category: 'kitchen',
    price: Money.of(1299, 'EUR'),
    stock: 5,
  };
  private isDiscontinued = false;

  withId(id: string): this {
    this.fields.id = id;
    return this;
  }

  withSku(sku: string): this {
    this.fields.sku = sku;
    return this;
  }

  named(name: string): this {
    this.fields.name = name;
    return this;
  }

  inCategory(category: string): this {
    this.fields.category = category;
    return this;
  }

  describedAs(description: string): this {
    this.fields.description = description;
    return this;
  }

  pricedAt(minor: number, currency = 'EUR'): this {
    this.fields.price = Money.of(minor, currency);
    return this;
  }

  withStock(stock: number): this {
    this.fields.stock = stock;
    return this;
  }

  discontinued(): this {
    this.isDiscontinued = true;
    return this;
  }

  build(): Product {
    const product = new Product({ ...this.fields });
    if (this.isDiscontinued) product.discontinue();
    return product;
  }
}

export class UserBuilder extends AggregateBuilder<User> {
  private fields = {
    id: randomUUID() as string,
    email: `customer-${shortId()}@example.com`,
    name: 'Ada Customer',
    // Not a hash any password matches: tests that log in register through the handler.
    passwordHash: 'scrypt$test$not-a-password-hash',
    roles: ['customer'] as Role[],
  };

  withId(id: string): this {
    this.fields.id = id;
    return this;
  }

  withEmail(email: string): this {
    this.fields.email = email;
    return this;
  }

  named(name: string): this {
    this.fields.name = name;
    return this;
  }

  withPasswordHash(passwordHash: string): this {
    this.fields.passwordHash = passwordHash;
    return this;
  }

  admin(): this {
    this.fields.roles = ['admin'];
    return this;
  }

  build(): User {
    return new User({ ...this.fields, roles: [...this.fields.roles] });
  }
}

type OrderState = 'placed' | 'paid' | 'shipped' | 'cancelled';

export class OrderBuilder extends AggregateBuilder<Order> {
  private id: string = randomUUID();
  private customerId: string = randomUUID();
  private lines: NewOrderLine[] = [];
  private state: OrderState = 'placed';

  withId(id: string): this {
    this.id = id;
    return this;
  }

  forCustomer(customer: string | { id: string }): this {
    this.customerId = typeof customer === 'string' ? customer : customer.id;
    return this;
  }

  /** A line for `product` at its current price (a Product, or just what the line needs). */
  withLine(
    product:
      Product | { productId?: string; name?: string; category?: string; unitPriceCents?: number; currency?: string },
    quantity = 1,
  ): this {
    this.lines.push(
      product instanceof Product
        ? { productId: product.id, name: product.name, category: product.category, quantity, unitPrice: product.price }
        : {
            productId: product.productId ?? randomUUID(),
            name: product.name ?? 'Blue mug',
            category: product.category ?? 'kitchen',
            quantity,
            unitPrice: Money.of(product.unitPriceCents ?? 1299, product.currency ?? 'EUR'),
          },
    );
    return this;
  }

  paid(): this {
    this.state = 'paid';
    return this;
  }

  shipped(): this {
    this.state = 'shipped';
    return this;
  }

  cancelled(): this {
    this.state = 'cancelled';
    return this;
  }

  build(): Order {
    if (this.lines.length === 0) this.withLine({}, 2);
    const order = new Order({ id: this.id, customerId: this.customerId, lines: this.lines });
    const owner = { id: this.customerId, roles: ['customer'] };
    if (this.state === 'paid' || this.state === 'shipped') order.pay(owner);
    if (this.state === 'shipped') order.ship();
    if (this.state === 'cancelled') order.cancel('cancelled by customer');
    return order;
  }
}

export const aProduct = (): ProductBuilder => new ProductBuilder();
export const aCustomer = (): UserBuilder => new UserBuilder();
export const anAdmin = (): UserBuilder => new UserBuilder().admin().named('Grace Admin');
export const anOrder = (): OrderBuilder => new OrderBuilder();

/** The command context of `user` acting (its id and roles), as the API builds it from a token. */
export const actingAs = (user: { id: string; roles: readonly string[] }): CommandContext =>
  new CommandContext({ id: user.id, roles: [...user.roles] });
