import { Migration } from '@mikro-orm/migrations';

export class Migration20261121062741_projection_positions extends Migration {
  override up(): void {
    // Per-projection "positions behind" is head - max(applied position): keep it an index lookup.
    this.addSql(`create index projection_inbox_position_idx on projection_inbox (projection, position)`);
    this.addSql(`create index event_log_type_position_idx on event_log (type, position)`);
  }

  override down(): void {
    this.addSql(`drop index if exists event_log_type_position_idx`);
    this.addSql(`drop index if exists projection_inbox_position_idx`);
  }
}
