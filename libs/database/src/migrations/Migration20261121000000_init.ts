import { Migration } from '@mikro-orm/migrations';

/**
 * The initial schema: write model (users, products, orders), the event log with its relay
 * wake-up trigger, idempotency keys, projection bookkeeping and the read models.
 */
export class Migration20261121000000_init extends Migration {
  override up(): void {
    // ---- write model -----------------------------------------------------------------------
    this.addSql(`
      create table users (
        id uuid primary key,
        email varchar(254) not null,
        name varchar(100) not null,
        password_hash text not null,
        roles text[] not null,
        created_at timestamptz not null default now(),
        version integer not null default 1
      )`);
    this.addSql(`create unique index users_email_key on users (email)`);

    this.addSql(`
      create table products (
        id uuid primary key,
        sku varchar(64) not null,
        name varchar(200) not null,
        description text not null,
        category varchar(64) not null,
        price_cents integer not null check (price_cents >= 0),
        currency char(3) not null,
        stock integer not null check (stock >= 0),
        status varchar(16) not null,
        created_at timestamptz not null,
        updated_at timestamptz not null,
        version integer not null default 1
      )`);
    this.addSql(`create unique index products_sku_key on products (sku)`);

    this.addSql(`
      create table orders (
        id uuid primary key,
        customer_id uuid not null,
        status varchar(16) not null,
        lines jsonb not null,
        total_cents bigint not null check (total_cents >= 0),
        currency char(3) not null,
        payment_id uuid,
        placed_at timestamptz not null,
        updated_at timestamptz not null,
        version integer not null default 1
      )`);
    this.addSql(`create index orders_customer_idx on orders (customer_id)`);

    // ---- event log (transactional outbox) -----------------------------------------------
    this.addSql(`
      create table event_log (
        position bigserial primary key,
        id uuid not null,
        type varchar(100) not null,
        schema_version integer not null,
        aggregate_type varchar(50) not null,
        aggregate_id uuid not null,
        aggregate_version integer not null,
        occurred_at timestamptz not null,
        payload jsonb not null,
        metadata jsonb not null,
        tx_id xid8 not null default pg_current_xact_id(),
        published_at timestamptz
      )`);
    this.addSql(`create unique index event_log_id_key on event_log (id)`);
    // One event per aggregate version: a second writer of the same version fails, never forks the stream.
    this.addSql(`create unique index event_log_stream_key on event_log (aggregate_id, aggregate_version)`);
    this.addSql(`create index event_log_unpublished_idx on event_log (position) where published_at is null`);
    this.addSql(`create index event_log_tx_idx on event_log (tx_id)`);
    // Wakes the relay when a transaction that wrote events commits (NOTIFY is delivered on commit).
    this.addSql(`
      create function event_log_notify() returns trigger language plpgsql as $$
      begin
        perform pg_notify('event_log', '');
        return null;
      end $$`);
    this.addSql(`
      create trigger event_log_notify after insert on event_log
      for each statement execute function event_log_notify()`);

    // ---- idempotency keys ------------------------------------------------------------------
    this.addSql(`
      create table idempotency_keys (
        actor varchar(64) not null,
        key varchar(255) not null,
        method varchar(10) not null,
        path varchar(500) not null,
        request_hash char(64) not null,
        status_code integer,
        response_body jsonb,
        created_at timestamptz not null default now(),
        completed_at timestamptz,
        primary key (actor, key)
      )`);

    // ---- projection bookkeeping ------------------------------------------------------------
    this.addSql(`
      create table projection_inbox (
        projection varchar(50) not null,
        event_id uuid not null,
        position bigint not null,
        applied_at timestamptz not null default now(),
        primary key (projection, event_id)
      )`);
    this.addSql(`
      create table projection_streams (
        projection varchar(50) not null,
        aggregate_id uuid not null,
        version integer not null,
        primary key (projection, aggregate_id)
      )`);

    // ---- read models -------------------------------------------------------------------------
    this.addSql(`
      create table read_catalog_products (
        id uuid primary key,
        sku varchar(64) not null,
        name varchar(200) not null,
        description text not null,
        category varchar(64) not null,
        price_cents integer not null,
        currency char(3) not null,
        stock integer not null,
        status varchar(16) not null,
        created_at timestamptz not null,
        updated_at timestamptz not null,
        version integer not null,
        search tsvector generated always as (
          setweight(to_tsvector('english'::regconfig, name), 'A') ||
          setweight(to_tsvector('english'::regconfig, category), 'B') ||
          setweight(to_tsvector('english'::regconfig, description), 'C')
        ) stored
      )`);
    this.addSql(
      `create index read_catalog_products_category_price_idx on read_catalog_products (category, price_cents, id)`,
    );
    this.addSql(`create index read_catalog_products_price_idx on read_catalog_products (price_cents, id)`);
    this.addSql(`create index read_catalog_products_name_idx on read_catalog_products (name, id)`);
    this.addSql(`create index read_catalog_products_created_idx on read_catalog_products (created_at, id)`);
    this.addSql(`create index read_catalog_products_search_idx on read_catalog_products using gin (search)`);

    this.addSql(`
      create table read_orders (
        id uuid primary key,
        customer_id uuid not null,
        status varchar(16) not null,
        lines jsonb not null,
        total_cents bigint not null,
        currency char(3) not null,
        placed_at timestamptz not null,
        updated_at timestamptz not null,
        timeline jsonb not null,
        version integer not null
      )`);
    this.addSql(`create index read_orders_customer_idx on read_orders (customer_id, placed_at desc, id desc)`);
    this.addSql(`create index read_orders_placed_idx on read_orders (placed_at desc, id desc)`);

    this.addSql(`
      create table read_sales_daily (
        day date not null,
        product_id uuid not null,
        category varchar(64) not null,
        currency char(3) not null,
        units integer not null,
        revenue_cents bigint not null,
        primary key (day, product_id)
      )`);
    this.addSql(`create index read_sales_daily_category_idx on read_sales_daily (category, day)`);
  }

  override down(): void {
    for (const table of [
      'read_sales_daily',
      'read_orders',
      'read_catalog_products',
      'projection_streams',
      'projection_inbox',
      'idempotency_keys',
      'event_log',
      'orders',
      'products',
      'users',
    ]) {
      this.addSql(`drop table if exists ${table}`);
    }
    this.addSql(`drop function if exists event_log_notify()`);
  }
}
