import fc from 'fast-check';

/** The subset of JSON Schema / OpenAPI 3.0 that the Emporium document uses. */
export interface Schema {
  $ref?: string;
  type?: string;
  format?: string;
  enum?: unknown[];
  pattern?: string;
  minLength?: number;
  maxLength?: number;
  minimum?: number;
  maximum?: number;
  minItems?: number;
  maxItems?: number;
  items?: Schema;
  properties?: Record<string, Schema>;
  required?: string[];
  nullable?: boolean;
  default?: unknown;
}

export type Components = Record<string, Schema>;

export function resolve(schema: Schema, components: Components): Schema {
  return schema.$ref ? resolve(components[schema.$ref.split('/').pop()!], components) : schema;
}

/** Values that satisfy the schema. */
export function validValue(schema: Schema, components: Components): fc.Arbitrary<unknown> {
  const s = resolve(schema, components);
  if (s.enum) return fc.constantFrom(...s.enum);
  switch (s.type ?? 'object') {
    case 'string': {
      if (s.format === 'uuid') return fc.uuid();
      if (s.format === 'email') return fc.emailAddress().filter((e) => e.length <= (s.maxLength ?? 254));
      if (s.format === 'date')
        return fc
          .date({ min: new Date('2020-01-01'), max: new Date('2030-12-31'), noInvalidDate: true })
          .map((d) => d.toISOString().slice(0, 10));
      if (s.format === 'date-time') return fc.date({ noInvalidDate: true }).map((d) => d.toISOString());
      if (s.pattern)
        return fc
          .stringMatching(new RegExp(s.pattern))
          .filter((v) => v.length <= (s.maxLength ?? 1000) && v.length >= (s.minLength ?? 0));
      return fc.string({ minLength: s.minLength ?? 0, maxLength: Math.min(s.maxLength ?? 50, 60) });
    }
    case 'integer':
      return fc.integer({ min: s.minimum ?? -1000, max: Math.min(s.maximum ?? 1_000_000, 2_000_000_000) });
    case 'number':
      return fc.integer({ min: s.minimum ?? 0, max: Math.min(s.maximum ?? 1_000_000, 2_000_000_000) });
    case 'boolean':
      return fc.boolean();
    case 'array':
      return fc.array(validValue(s.items ?? {}, components), {
        minLength: s.minItems ?? 0,
        maxLength: Math.min(s.maxItems ?? 3, 3),
      });
    case 'object':
    default: {
      const properties = s.properties ?? {};
      const required = new Set(s.required ?? []);
      const record: Record<string, fc.Arbitrary<unknown>> = {};
      for (const [name, property] of Object.entries(properties)) record[name] = validValue(property, components);
      return fc.record(record, { requiredKeys: [...required] });
    }
  }
}

const HOSTILE_SCALARS: unknown[] = [
  null,
  true,
  -1,
  0,
  2 ** 31,
  Number.MAX_SAFE_INTEGER,
  1.5,
  '',
  ' ',
  'x'.repeat(10_000),
  '\u0000',
  '😀'.repeat(300),
  "'; drop table users; --",
  '{{7*7}}',
  '../../etc/passwd',
  [],
  {},
  { $gt: '' },
];

/** Values crafted to break the schema: wrong types, out-of-range numbers, oversized strings, extra fields. */
export function hostileValue(schema: Schema, components: Components): fc.Arbitrary<unknown> {
  const s = resolve(schema, components);
  const scalar = fc.constantFrom(...HOSTILE_SCALARS);
  if (s.type === 'object' || s.properties) {
    const names = Object.keys(s.properties ?? {});
    return fc.oneof(
      scalar,
      // one field hostile, the others valid
      names.length
        ? fc.tuple(validValue(s, components), fc.constantFrom(...names), scalar).map(([valid, name, bad]) => ({
            ...(valid as object),
            [name]: bad,
          }))
        : scalar,
      // a field the client must not set
      fc
        .tuple(
          validValue(s, components),
          fc.constantFrom('roles', 'status', 'totalCents', 'unitPriceCents', 'isAdmin', 'version'),
        )
        .map(([valid, extra]) => ({ ...(valid as object), [extra]: 'admin' })),
    );
  }
  if (s.type === 'array') {
    return fc.oneof(
      scalar,
      fc.array(hostileValue(s.items ?? {}, components), { minLength: 1, maxLength: 3 }),
      fc.constant(new Array(60).fill(1)),
    );
  }
  return scalar;
}
