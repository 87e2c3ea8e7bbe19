import { Migration } from '@mikro-orm/migrations';

/**
 * Finds the orders whose payment is overdue without scanning the others: only `placed` orders
 * are in the index, oldest first, which is the order the expiry sweep reads them in.
 */
export class Migration20261202020000_order_payment_deadline extends Migration {
  override up(): void {
    this.addSql(`create index orders_awaiting_payment on orders (placed_at) where status = 'placed'`);
  }

  override down(): void {
    this.addSql(`drop index if exists orders_awaiting_payment`);
  }
}
