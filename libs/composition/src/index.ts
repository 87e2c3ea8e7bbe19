import type { Type } from '@nestjs/common';
import { CatalogProjection, catalogEntities } from '@emporium/catalog';
import { identityEntities } from '@emporium/identity';
import { messagingEntities, type Projection, type ProjectionSubscription } from '@emporium/messaging';
import { OrdersProjection, orderingEntities, SalesProjection } from '@emporium/ordering';

/**
 * The system as a whole: which bounded contexts it is made of. The api, the projector, the CLI
 * and the tests all take these lists from here, so adding a context or a projection is one edit.
 */

/** Every persisted entity (one schema, one set of migrations). */
export const allEntities = [...messagingEntities, ...identityEntities, ...catalogEntities, ...orderingEntities];

/** Every projection, as Nest providers (each has a no-argument constructor). */
export const projectionTypes: Type<Projection>[] = [CatalogProjection, OrdersProjection, SalesProjection];

/** Fresh instances, for code outside Nest's container (CLI rebuilds, tests). */
export const createProjections = (): Projection[] => projectionTypes.map((type) => new type());

/** What each projection subscribes to: its queue's bindings, its lag and health figures. */
export const projectionSubscriptions: ProjectionSubscription[] = createProjections().map(({ name, eventTypes }) => ({
  name,
  eventTypes,
}));
