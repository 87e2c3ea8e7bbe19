-- One order applied by the projector: its three deliveries (catalog.product.stock-reserved to
-- catalog, ordering.order.placed to orders and to sales) in one transaction, statement for
-- statement as libs/projections/src/projection-runner.ts and the projections send them (Kysely:
-- parameters over the extended protocol; run with -M extended). bench/pgbench-ceiling.mjs prepares
-- one row of parameters per order in bench_projection_apply; claiming it is the one statement
-- here the projector does not send (it gets its events from RabbitMQ), outside the transaction.
select * from bench_projection_apply where n = (select nextval('bench_projection_cursor'))
\gset q_
begin;
with locks as materialized (select count(pg_advisory_xact_lock_shared(hashtext('projection:' || p))) from unnest(:q_names::text[]) p),
streams as (
  insert into projection_streams (projection, aggregate_id, version)
  select k.p, k.a, 0 from locks, unnest(:q_stream_projections::text[], :q_stream_aggregates::uuid[]) k(p, a)
  on conflict (projection, aggregate_id) do update set version = projection_streams.version
  returning projection, aggregate_id, version)
select e.position, e.id, e.type, e.schema_version, e.aggregate_type, e.aggregate_id, e.aggregate_version, e.occurred_at, e.payload, e.metadata, s.projection, s.version as stream_version
  from event_log e join streams s on s.aggregate_id = e.aggregate_id
 where e.id = any(:q_event_ids::uuid[]);
with advanced as (
    update projection_streams s set version = v.version
      from unnest(:q_stream_projections::text[], :q_stream_aggregates::uuid[], :q_versions::int[]) v(projection, id, version)
     where s.projection = v.projection and s.aggregate_id = v.id)
  insert into projection_inbox (projection, event_id, position)
  select * from unnest(:q_stream_projections::text[], :q_inbox_events::uuid[], :q_inbox_positions::bigint[])
  on conflict do nothing
  returning projection, event_id;
update "read_catalog_products" as "p" set "name" = coalesce("r"."name", "p"."name"), "description" = coalesce("r"."description", "p"."description"), "category" = coalesce("r"."category", "p"."category"), "price_cents" = coalesce("r"."price_cents", "p"."price_cents"), "stock" = coalesce("r"."stock", "p"."stock"), "status" = coalesce("r"."status", "p"."status"), "updated_at" = "r"."updated_at", "version" = "r"."version" from (select * from jsonb_to_recordset(:q_catalog::jsonb) as x(id uuid, sku text, name text, description text, category text, price_cents int, currency text, stock int, status text, created_at timestamptz, updated_at timestamptz, version int)) as "r" where "p"."id" = "r"."id";
select pg_notify('emporium_catalog', id) from unnest(:q_notify::text[]) as t(id);
insert into "read_orders" ("id", "customer_id", "status", "lines", "total_cents", "currency", "placed_at", "updated_at", "timeline", "version") select "id", "customer_id", "status", "lines", "total_cents", "currency", "placed_at", "updated_at", "timeline", "version" from (select * from jsonb_to_recordset(:q_orders::jsonb) as x(id uuid, status text, updated_at timestamptz, version int, timeline jsonb, customer_id uuid, lines jsonb, total_cents bigint, currency text, placed_at timestamptz)) as "r" order by "id";
insert into "read_sales_daily" ("day", "product_id", "category", "currency", "units", "revenue_cents") select "day", "product_id", "category", "currency", "units", "revenue_cents" from (select * from jsonb_to_recordset(:q_sales::jsonb) as x(day date, product_id uuid, category text, currency text, units int, revenue_cents bigint)) as "r" order by "day", "product_id" on conflict ("day", "product_id") do update set "units" = "read_sales_daily"."units" + "excluded"."units", "revenue_cents" = "read_sales_daily"."revenue_cents" + "excluded"."revenue_cents";
commit;
