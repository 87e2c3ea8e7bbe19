import type { Type } from '@nestjs/common';
import { CatalogProjection, catalogEntities } from '@emporium/catalog';
import { identityEntities } from '@emporium/identity';
import { domainEntities } from '@emporium/domain';
import type { Projection, ProjectionSubscription } from '@emporium/projections';
import { OrdersProjection, orderingEntities, SalesProjection } from '@emporium/ordering';
import { webhookSubscription } from '@emporium/webhooks';

/**
 * The system as a whole: which bounded contexts it is made of. The api, the projector, the CLI
 * and the tests all take these lists from here, so adding a context or a projection is one edit.
 */

/** Every persisted entity (one schema, one set of migrations). */
export const allEntities = [...domainEntities, ...identityEntities, ...catalogEntities, ...orderingEntities];

/**
 * Every projection, as Nest providers (each has a no-argument constructor). The projector consumes
 * a queue per entry, the relay declares its queue, health reports its lag and dead letters, the
 * CLI rebuilds it: a new projection is one more entry here (and its tables in a migration).
 */
export const projectionTypes: ReadonlyArray<Type<Projection>> = [CatalogProjection, OrdersProjection, SalesProjection];

/** Fresh instances, for code outside Nest's container (CLI rebuilds, tests). */
export const createProjections = (types = projectionTypes): Projection[] => types.map((type) => new type());

/** What each projection subscribes to: its queue's bindings, its lag and health figures. */
export const subscriptionsOf = (types: ReadonlyArray<Type<Projection>>): ProjectionSubscription[] =>
  createProjections(types).map(({ name, eventTypes }) => ({ name, eventTypes }));
export const projectionSubscriptions: ProjectionSubscription[] = subscriptionsOf(projectionTypes);

/**
 * Every subscription of the delivery core: the projections, and the webhooks fan-out (turning
 * events into webhook deliveries). The relay declares a queue for each; health and the CLI's
 * dead-letter commands cover each.
 */
export const deliverySubscriptions: ProjectionSubscription[] = [...projectionSubscriptions, webhookSubscription];
export { webhookSubscription };
