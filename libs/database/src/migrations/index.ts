import type { MigrationObject } from '@mikro-orm/core';
import { Migration20261121000000_init } from './Migration20261121000000_init.js';
import { Migration20261121062741_projection_positions } from './Migration20261121062741_projection_positions.js';
import { Migration20261121063744_idempotency_claim_token } from './Migration20261121063744_idempotency_claim_token.js';
import { Migration20261121080000_dead_letters } from './Migration20261121080000_dead_letters.js';
import { Migration20261202000000_catalog_categories } from './Migration20261202000000_catalog_categories.js';
import { Migration20261202010000_stream_versions } from './Migration20261202010000_stream_versions.js';
import { Migration20261202020000_order_payment_deadline } from './Migration20261202020000_order_payment_deadline.js';
import { Migration20261202030000_webhooks } from './Migration20261202030000_webhooks.js';
import { Migration20261202040000_order_stream_tickets } from './Migration20261202040000_order_stream_tickets.js';

/** Every migration, in order. `npm run migration:create` writes a new file; add it here. */
export const migrationsList: MigrationObject[] = [
  { name: 'Migration20261121000000_init', class: Migration20261121000000_init },
  { name: 'Migration20261121062741_projection_positions', class: Migration20261121062741_projection_positions },
  { name: 'Migration20261121063744_idempotency_claim_token', class: Migration20261121063744_idempotency_claim_token },
  { name: 'Migration20261121080000_dead_letters', class: Migration20261121080000_dead_letters },
  { name: 'Migration20261202000000_catalog_categories', class: Migration20261202000000_catalog_categories },
  { name: 'Migration20261202010000_stream_versions', class: Migration20261202010000_stream_versions },
  { name: 'Migration20261202020000_order_payment_deadline', class: Migration20261202020000_order_payment_deadline },
  { name: 'Migration20261202030000_webhooks', class: Migration20261202030000_webhooks },
  { name: 'Migration20261202040000_order_stream_tickets', class: Migration20261202040000_order_stream_tickets },
];
