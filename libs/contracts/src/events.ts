import { z } from 'zod';
import { PoisonMessageError, type EventEnvelope } from './envelope.js';

/**
 * Every integration event: its type (the routing key), the schema of its payload, and the
 * schema version producers write today. Types are derived from the schemas, so an aggregate can
 * only record a known type with its payload, and a consumer receives the payload parsed.
 *
 * A breaking change to a payload adds a version: bump `version`, change `schema`, and add an
 * upcaster from the old version to `upcasters` so consumers keep reading events already in
 * `event_log` (they are never rewritten).
 */
export const IdentityEvents = { UserRegistered: 'identity.user.registered' } as const;

export const CatalogEvents = {
  ProductCreated: 'catalog.product.created',
  ProductUpdated: 'catalog.product.updated',
  PriceChanged: 'catalog.product.price-changed',
  Restocked: 'catalog.product.restocked',
  Discontinued: 'catalog.product.discontinued',
  StockReserved: 'catalog.product.stock-reserved',
  StockReleased: 'catalog.product.stock-released',
} as const;

export const OrderingEvents = {
  OrderPlaced: 'ordering.order.placed',
  OrderPaid: 'ordering.order.paid',
  OrderShipped: 'ordering.order.shipped',
  OrderCancelled: 'ordering.order.cancelled',
} as const;

const count = z.int().nonnegative();
const cents = z.int();
const currency = z.string().length(3);

const ProductSnapshotV1 = z.object({
  sku: z.string(),
  name: z.string(),
  description: z.string(),
  category: z.string(),
  priceCents: cents.nonnegative(),
  currency,
  stock: count,
  status: z.enum(['active', 'discontinued']),
});

const StockMovementV1 = z.object({ orderId: z.uuid(), quantity: z.int().positive(), stock: count });

const OrderLineV1 = z.object({
  productId: z.uuid(),
  name: z.string(),
  category: z.string(),
  quantity: z.int().positive(),
  unitPriceCents: cents.nonnegative(),
});

const OrderTotalsV1 = z.object({
  customerId: z.uuid(),
  lines: z.array(OrderLineV1).min(1),
  totalCents: cents.nonnegative(),
  currency,
});

const nothing = z.object({}).strict();

/** Payload schema and current schema version of every event type. */
export const eventSchemas = {
  [IdentityEvents.UserRegistered]: {
    version: 1,
    schema: z.object({ email: z.string(), name: z.string(), roles: z.array(z.string()) }),
  },
  [CatalogEvents.ProductCreated]: { version: 1, schema: ProductSnapshotV1 },
  [CatalogEvents.ProductUpdated]: {
    version: 1,
    schema: ProductSnapshotV1.pick({ name: true, description: true, category: true }),
  },
  [CatalogEvents.PriceChanged]: {
    version: 1,
    schema: z.object({ priceCents: cents.nonnegative(), previousPriceCents: cents.nonnegative(), currency }),
  },
  [CatalogEvents.Restocked]: { version: 1, schema: z.object({ quantity: z.int().positive(), stock: count }) },
  [CatalogEvents.Discontinued]: { version: 1, schema: nothing },
  [CatalogEvents.StockReserved]: { version: 1, schema: StockMovementV1 },
  [CatalogEvents.StockReleased]: { version: 1, schema: StockMovementV1 },
  [OrderingEvents.OrderPlaced]: { version: 1, schema: OrderTotalsV1 },
  [OrderingEvents.OrderPaid]: {
    version: 1,
    schema: z.object({ paymentId: z.string(), amountCents: cents.nonnegative() }),
  },
  [OrderingEvents.OrderShipped]: { version: 1, schema: nothing },
  [OrderingEvents.OrderCancelled]: { version: 1, schema: OrderTotalsV1.extend({ reason: z.string() }) },
} as const satisfies Record<string, { version: number; schema: z.ZodType }>;

export type EventType = keyof typeof eventSchemas;
export type EventPayload<T extends EventType> = z.infer<(typeof eventSchemas)[T]['schema']>;

/** An event whose payload was checked against its type's schema: a union narrowed by `type`. */
export type DomainEvent<T extends EventType = EventType> = {
  [K in T]: EventEnvelope<K, EventPayload<K>>;
}[T];

/**
 * Upcasters, per event type and old schema version: each turns a payload of version n into one
 * of version n + 1. Empty while every event is at version 1.
 */
export const upcasters: Partial<Record<EventType, Record<number, (payload: unknown) => unknown>>> = {};

export type ProductSnapshotV1 = z.infer<typeof ProductSnapshotV1>;
export type OrderLineV1 = z.infer<typeof OrderLineV1>;
export type OrderPlacedV1 = EventPayload<typeof OrderingEvents.OrderPlaced>;
export type OrderCancelledV1 = EventPayload<typeof OrderingEvents.OrderCancelled>;

/** The payload does not fit its type's schema (or the type is unknown): the event is unusable. */
export class EventSchemaError extends PoisonMessageError {
  override readonly name = 'EventSchemaError';
}

export function isEventType(type: string): type is EventType {
  return Object.hasOwn(eventSchemas, type);
}

/**
 * Brings a stored or delivered event to its type's current schema version (upcasting older
 * payloads) and parses the payload. Throws EventSchemaError, with the schema's own message, for
 * an unknown type, a version from the future, or a payload that does not fit.
 */
export function parseEvent(envelope: EventEnvelope): DomainEvent {
  const { type } = envelope;
  if (!isEventType(type)) throw new EventSchemaError(`unknown event type ${type}`);
  const { version, schema } = eventSchemas[type];
  let payload = envelope.payload;
  let at = envelope.schemaVersion;
  if (at > version) throw new EventSchemaError(`${type} schema version ${at} is newer than ${version}`);
  for (; at < version; at++) {
    const upcast = upcasters[type]?.[at];
    if (!upcast) throw new EventSchemaError(`${type} has no upcaster from schema version ${at}`);
    payload = upcast(payload);
  }
  const parsed = schema.safeParse(payload);
  if (!parsed.success) {
    throw new EventSchemaError(`${type} v${version} payload: ${z.prettifyError(parsed.error).replace(/\n/g, '; ')}`);
  }
  return { ...envelope, schemaVersion: version, payload: parsed.data } as DomainEvent;
}
