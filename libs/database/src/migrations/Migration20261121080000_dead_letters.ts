import { Migration } from '@mikro-orm/migrations';

/**
 * Dead letters of the in-process transport (no AMQP_URL): an event a projection could not apply
 * after its retries, with the reason. With RabbitMQ they live in each projection's `.dlq` queue.
 */
export class Migration20261121080000_dead_letters extends Migration {
  override up(): void {
    this.addSql(`
      create table dead_letters (
        projection text not null,
        event_id uuid not null,
        position bigint not null,
        type text not null,
        attempts int not null,
        error text not null,
        failed_at timestamptz not null default now(),
        primary key (projection, event_id)
      )`);
  }

  override down(): void {
    this.addSql(`drop table dead_letters`);
  }
}
