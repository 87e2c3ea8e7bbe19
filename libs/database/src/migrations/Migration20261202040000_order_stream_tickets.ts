import { Migration } from '@mikro-orm/migrations';

/**
 * Tickets for the live order stream: browsers' EventSource cannot send an Authorization header,
 * so a signed-in client trades its token for a short-lived, single-use ticket it may put in the
 * URL. Kept here (not in one api process's memory) so any replica can redeem it; only a hash of
 * the ticket is stored.
 */
export class Migration20261202040000_order_stream_tickets extends Migration {
  override up(): void {
    this.addSql(`
      create table order_stream_tickets (
        ticket_hash char(64) primary key,
        user_id varchar(64) not null,
        roles text[] not null,
        expires_at timestamptz not null
      )`);
    this.addSql(`create index order_stream_tickets_expires_idx on order_stream_tickets (expires_at)`);
  }

  override down(): void {
    this.addSql(`drop table order_stream_tickets`);
  }
}
