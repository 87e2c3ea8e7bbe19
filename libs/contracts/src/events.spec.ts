import {
  CatalogEvents,
  EventSchemaError,
  parseEvent,
  PoisonMessageError,
  upcasters,
  type EventEnvelope,
} from './index.js';

const restocked = (payload: unknown, schemaVersion = 1): EventEnvelope => ({
  id: crypto.randomUUID(),
  type: CatalogEvents.Restocked,
  schemaVersion,
  aggregateType: 'Product',
  aggregateId: crypto.randomUUID(),
  aggregateVersion: 2,
  position: '7',
  occurredAt: new Date().toISOString(),
  payload,
  metadata: { actor: 'test', correlationId: 'c', causationId: 'c' },
});

describe('parseEvent', () => {
  it('gives a typed payload for a known type', () => {
    const event = parseEvent(restocked({ quantity: 2, stock: 5 }));
    expect(event.type === CatalogEvents.Restocked && event.payload.stock).toBe(5);
  });

  it('refuses a payload that does not fit, naming the field, as poison', () => {
    const parse = (): unknown => parseEvent(restocked({ quantity: 2, stock: 'many' }));
    expect(parse).toThrow(EventSchemaError);
    expect(parse).toThrow(PoisonMessageError);
    expect(parse).toThrow(/catalog\.product\.restocked v1 payload: .*stock/);
  });

  it('refuses an unknown type and a schema version from the future', () => {
    expect(() => parseEvent({ ...restocked({}), type: 'catalog.product.teleported' })).toThrow(/unknown event type/);
    expect(() => parseEvent(restocked({ quantity: 2, stock: 5 }, 2))).toThrow(/newer than 1/);
  });

  it('upcasts an old schema version before parsing, or refuses it without an upcaster', () => {
    expect(() => parseEvent(restocked({ qty: 2, stock: 5 }, 0))).toThrow(/no upcaster from schema version 0/);
    upcasters[CatalogEvents.Restocked] = { 0: (old) => ({ quantity: (old as { qty: number }).qty, stock: 5 }) };
    try {
      const event = parseEvent(restocked({ qty: 2, stock: 5 }, 0));
      expect(event).toMatchObject({ schemaVersion: 1, payload: { quantity: 2, stock: 5 } });
    } finally {
      delete upcasters[CatalogEvents.Restocked];
    }
  });
});
