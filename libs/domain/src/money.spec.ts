import fc from 'fast-check';
import { CurrencyMismatch, InvalidMoney, Money } from './money.js';

describe('Money', () => {
  it('adds and multiplies in minor units of one currency', () => {
    const price = Money.of(1299, 'EUR');
    expect(price.multiply(3).add(Money.of(1, 'EUR'))).toEqual(Money.of(3898, 'EUR'));
    expect(Money.sum([price, price], 'EUR').equals(Money.of(2598, 'EUR'))).toBe(true);
    expect(Money.sum([], 'USD')).toEqual(Money.zero('USD'));
  });

  it('is equal only with the same amount and currency', () => {
    expect(Money.of(100, 'EUR').equals(Money.of(100, 'EUR'))).toBe(true);
    expect(Money.of(100, 'EUR').equals(Money.of(100, 'USD'))).toBe(false);
    expect(Money.of(100, 'EUR').equals(Money.of(101, 'EUR'))).toBe(false);
  });

  it('refuses to mix currencies', () => {
    expect(() => Money.of(1, 'EUR').add(Money.of(1, 'USD'))).toThrow(CurrencyMismatch);
    expect(() => Money.sum([Money.of(1, 'EUR')], 'USD')).toThrow(CurrencyMismatch);
  });

  it.each([
    [1.5, 'EUR'],
    [Number.NaN, 'EUR'],
    [Number.MAX_SAFE_INTEGER + 1, 'EUR'],
    [1, 'eur'],
    [1, 'EURO'],
  ])('refuses %p %p (no floats, ISO codes only)', (minor, currency) => {
    expect(() => Money.of(minor, currency)).toThrow(InvalidMoney);
  });

  it('refuses a fractional factor and a product past the safe integers', () => {
    expect(() => Money.of(100, 'EUR').multiply(0.5)).toThrow(InvalidMoney);
    expect(() => Money.of(Number.MAX_SAFE_INTEGER, 'EUR').multiply(2)).toThrow(InvalidMoney);
  });

  it('adds exactly, in any order', () => {
    const amount = fc.integer({ min: -1e12, max: 1e12 }).map((n) => Money.of(n, 'EUR'));
    fc.assert(fc.property(amount, amount, amount, (a, b, c) => a.add(b).add(c).equals(c.add(a).add(b))));
  });
});
