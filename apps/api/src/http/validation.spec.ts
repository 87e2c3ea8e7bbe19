import 'reflect-metadata';
import type { ArgumentMetadata, Type } from '@nestjs/common';
import { CreateProductDto, ListProductsQueryDto } from '../catalog/products.dto.js';
import { PlaceOrderDto } from '../ordering/orders.dto.js';
import { ProblemException } from './problem.js';
import { createValidationPipe, type FieldError } from './validation.js';

/** What a client is told for `value`, as the global pipe answers it. */
async function rejection(
  value: unknown,
  metatype: Type<unknown>,
  type: ArgumentMetadata['type'] = 'body',
): Promise<{ detail: string; errors: FieldError[] }> {
  try {
    await createValidationPipe().transform(value, { type, metatype });
  } catch (error) {
    if (!(error instanceof ProblemException)) throw error;
    return error.getResponse() as { detail: string; errors: FieldError[] };
  }
  throw new Error('the value was accepted');
}

const product = { sku: 'MUG-1', name: 'Mug', category: 'kitchen', priceCents: 1490, currency: 'EUR', stock: 3 };

describe('validation messages', () => {
  it('says a missing field is required, and nothing else about it', async () => {
    const { sku: _sku, priceCents: _price, ...rest } = product;
    const { errors, detail } = await rejection(rest, CreateProductDto);
    expect(errors).toEqual([
      { field: 'sku', message: 'sku is required' },
      { field: 'priceCents', message: 'priceCents is required' },
    ]);
    expect(detail).toBe('sku is required; priceCents is required');
  });

  it('says a value of the wrong type has the wrong type, once', async () => {
    const { errors } = await rejection({ ...product, priceCents: '1490', sku: 42 }, CreateProductDto);
    expect(errors).toEqual([
      { field: 'sku', message: 'sku must be a string, not a number' },
      { field: 'priceCents', message: 'priceCents must be an integer, not a string' },
    ]);
  });

  it('names a nested line by its path and its quantity of the wrong type', async () => {
    const { errors } = await rejection({ lines: [{ productId: crypto.randomUUID(), quantity: '2' }] }, PlaceOrderDto);
    expect(errors).toEqual([
      { field: 'lines.0.quantity', message: 'lines.0.quantity must be an integer, not a string' },
    ]);
  });

  it('says an empty order needs at least one line, grammatically', async () => {
    const { errors } = await rejection({ lines: [] }, PlaceOrderDto);
    expect(errors).toEqual([{ field: 'lines', message: 'lines must contain at least 1 element' }]);
  });

  it('says a query parameter that is no number must be an integer', async () => {
    const { errors } = await rejection({ minPrice: 'abc' }, ListProductsQueryDto, 'query');
    expect(errors).toEqual([{ field: 'minPrice', message: 'minPrice must be an integer' }]);
  });

  it('lists missing and mistyped fields before broken rules and unknown fields', async () => {
    const { errors } = await rejection(
      { ...product, stock: -1, currency: undefined, name: ['x'], totalCents: 1 },
      CreateProductDto,
    );
    expect(errors.map((e) => e.message)).toEqual([
      'currency is required',
      'name must be a string, not an array',
      'stock must not be less than 0',
      'property totalCents should not exist',
    ]);
  });

  it('keeps every rule a value of the right type breaks, and never echoes a value', async () => {
    const { errors } = await rejection({ ...product, sku: '-secret-value-' }, CreateProductDto);
    expect(errors).toHaveLength(1);
    expect(errors[0].message).toMatch(/^sku must match/);
    expect(JSON.stringify(errors)).not.toContain('secret-value');
  });
});
