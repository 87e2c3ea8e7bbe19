import { DomainError } from './domain-error.js';

/** Amounts in two currencies were combined: a programming error or a rule not checked first. */
export class CurrencyMismatch extends DomainError {
  readonly kind = 'unprocessable';
  readonly code = 'currency-mismatch';
  constructor(a: string, b: string) {
    super(`cannot combine amounts in ${a} and ${b}`);
  }
}

export class InvalidMoney extends DomainError {
  readonly kind = 'invalid';
  readonly code = 'invalid-money';
}

const ISO_4217 = /^[A-Z]{3}$/;

/**
 * An amount of money: integer minor units (cents) and an ISO 4217 currency code. Immutable;
 * arithmetic never leaves the integers and refuses to mix currencies, so no float and no
 * silent conversion can reach a price or a total.
 */
export class Money {
  private constructor(
    /** Minor units: 1299 EUR is €12.99. */
    readonly minor: number,
    readonly currency: string,
  ) {}

  static of(minor: number, currency: string): Money {
    if (!Number.isSafeInteger(minor)) throw new InvalidMoney(`an amount is a whole number of minor units: ${minor}`);
    if (!ISO_4217.test(currency)) throw new InvalidMoney(`a currency is an ISO 4217 code like EUR: ${currency}`);
    return new Money(minor, currency);
  }

  static zero(currency: string): Money {
    return Money.of(0, currency);
  }

  /** The sum of `amounts`, all in `currency` (which an empty list needs to name its zero). */
  static sum(amounts: readonly Money[], currency: string): Money {
    return amounts.reduce((total, amount) => total.add(amount), Money.zero(currency));
  }

  add(other: Money): Money {
    this.assertSameCurrency(other);
    return Money.of(this.minor + other.minor, this.currency);
  }

  /** This amount `factor` times (a quantity): an integer, so the result stays in minor units. */
  multiply(factor: number): Money {
    if (!Number.isSafeInteger(factor)) throw new InvalidMoney(`a factor is a whole number: ${factor}`);
    return Money.of(this.minor * factor, this.currency);
  }

  equals(other: Money): boolean {
    return this.minor === other.minor && this.currency === other.currency;
  }

  isNegative(): boolean {
    return this.minor < 0;
  }

  toString(): string {
    return `${this.minor} ${this.currency} minor units`;
  }

  private assertSameCurrency(other: Money): void {
    if (other.currency !== this.currency) throw new CurrencyMismatch(this.currency, other.currency);
  }
}
