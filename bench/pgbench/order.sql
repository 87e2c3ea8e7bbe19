-- One order of one product, as the api places it (bench/write-reference-server.mjs spells out the
-- same transaction): the product locked, the order inserted, the stock reserved at the next stream
-- version, ordering.order.placed and catalog.product.stock-reserved appended to event_log.
-- Literal SQL over the simple protocol, as MikroORM sends it. Products: the 50 that
-- bench/pgbench-ceiling.mjs seeds, ids 00000000-0000-4000-8000-0000000000NN for NN in 10..59.
-- New ids (order, events, customer, causation, correlation, trace) come from gen_random_uuid() in
-- the locking select, where the api makes them in the process: no statement of their own.
\set n random(10, 59)
begin;
select id, sku, name, description, category, price_cents, currency, stock, status, created_at, updated_at, stream_version,
       gen_random_uuid() as order_id, gen_random_uuid() as customer_id, gen_random_uuid() as placed_event,
       gen_random_uuid() as reserved_event, gen_random_uuid() as causation_id, gen_random_uuid() as correlation_id,
       replace(gen_random_uuid()::text, '-', '') || '-' || substr(replace(gen_random_uuid()::text, '-', ''), 1, 16) as trace
  from products where id in ('00000000-0000-4000-8000-0000000000:n') order by id for update
\gset p_
\set stock :p_stock - 1
\set version :p_stream_version + 1
insert into orders (id, customer_id, status, lines, total_cents, currency, placed_at, updated_at, stream_version)
values (':p_order_id', ':p_customer_id', 'placed',
        '[{"productId":":p_id","name":":p_name","category":":p_category","quantity":1,"unitPriceCents": :p_price_cents}]',
        :p_price_cents, ':p_currency', now(), now(), 1);
update products set stock = :stock, updated_at = now(), stream_version = :version
 where id = ':p_id' and stream_version = :p_stream_version;
insert into event_log (id, type, schema_version, aggregate_type, aggregate_id, aggregate_version, occurred_at, payload, metadata)
values (':p_placed_event', 'ordering.order.placed', 1, 'Order', ':p_order_id', 1, now(),
        '{"customerId":":p_customer_id","lines":[{"productId":":p_id","name":":p_name","category":":p_category","quantity":1,"unitPriceCents": :p_price_cents}],"totalCents": :p_price_cents,"currency":":p_currency"}',
        '{"actor":":p_customer_id","correlationId":":p_correlation_id","causationId":":p_causation_id","traceparent":"00-:p_trace-01"}'),
       (':p_reserved_event', 'catalog.product.stock-reserved', 1, 'Product', ':p_id', :version, now(),
        '{"orderId":":p_order_id","quantity":1,"stock": :stock}',
        '{"actor":":p_customer_id","correlationId":":p_correlation_id","causationId":":p_causation_id","traceparent":"00-:p_trace-01"}')
returning position;
commit;
