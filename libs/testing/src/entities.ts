import { catalogEntities } from '@emporium/catalog';
import { identityEntities } from '@emporium/identity';
import { messagingEntities } from '@emporium/messaging';
import { orderingEntities } from '@emporium/ordering';

export const allEntities = [...messagingEntities, ...identityEntities, ...catalogEntities, ...orderingEntities];
