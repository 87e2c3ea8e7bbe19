import { Migration } from '@mikro-orm/migrations';

/**
 * Outgoing webhooks: the endpoints operators registered, and one delivery row per (endpoint,
 * event) that the `webhooks` subscription fanned out. A delivery row is the durable state of its
 * attempts: the deliverer reads what is due from here, so a restart loses nothing.
 */
export class Migration20261202030000_webhooks extends Migration {
  override up(): void {
    this.addSql(`
      create table webhook_endpoints (
        id uuid primary key,
        url text not null,
        event_types text[] not null,
        secret text not null,
        status text not null default 'enabled' check (status in ('enabled', 'disabled')),
        -- Events after this position are delivered (those already in the log when it was registered are not).
        start_position bigint not null,
        -- The newest position delivered or given up on: later deliveries wait for earlier events' fan-out.
        settled_position bigint not null default 0,
        created_at timestamptz not null default now(),
        failing_since timestamptz,
        disabled_at timestamptz,
        disabled_reason text,
        -- Which deliverer sends to it right now, until when (one at a time keeps its events in order).
        lease_owner text,
        lease_until timestamptz
      )`);
    this.addSql(`
      create table webhook_deliveries (
        endpoint_id uuid not null references webhook_endpoints (id) on delete cascade,
        event_id uuid not null,
        position bigint not null,
        type text not null,
        status text not null default 'pending' check (status in ('pending', 'delivered', 'dead')),
        attempts int not null default 0,
        next_attempt_at timestamptz not null default now(),
        last_attempt_at timestamptz,
        last_status int,
        last_error text,
        delivered_at timestamptz,
        created_at timestamptz not null default now(),
        primary key (endpoint_id, event_id)
      )`);
    this.addSql(
      `create index webhook_deliveries_pending_idx on webhook_deliveries (endpoint_id, position) where status = 'pending'`,
    );
    this.addSql(`create index webhook_deliveries_endpoint_idx on webhook_deliveries (endpoint_id, position)`);
  }

  override down(): void {
    this.addSql(`drop table webhook_deliveries`);
    this.addSql(`drop table webhook_endpoints`);
  }
}
