import { Migration } from '@mikro-orm/migrations';

const AGGREGATES = ['users', 'products', 'orders'];

/**
 * Each aggregate's stream version, a column of its own: advanced once per recorded event (so one
 * command may record several events at consecutive versions) and checked on every update as the
 * optimistic lock. It replaces the ORM's row version, which advanced once per flush whatever the
 * events were. Existing rows take the last version their stream reached in `event_log`
 * (docs/adr/0014-stream-versions.md).
 */
export class Migration20261202010000_stream_versions extends Migration {
  override up(): void {
    for (const table of AGGREGATES) {
      this.addSql(`alter table ${table} add column stream_version integer`);
      this.addSql(`
        update ${table} a set stream_version = coalesce(
          (select max(e.aggregate_version) from event_log e where e.aggregate_id = a.id), a.version)`);
      this.addSql(`alter table ${table} alter column stream_version set not null`);
      this.addSql(`alter table ${table} add constraint ${table}_stream_version_check check (stream_version >= 1)`);
      this.addSql(`alter table ${table} drop column version`);
    }
  }

  override down(): void {
    for (const table of AGGREGATES) {
      this.addSql(`alter table ${table} add column version integer not null default 1`);
      this.addSql(`update ${table} set version = stream_version`);
      this.addSql(`alter table ${table} drop column stream_version`);
    }
  }
}
