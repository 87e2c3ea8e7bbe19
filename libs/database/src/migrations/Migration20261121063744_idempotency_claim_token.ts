import { Migration } from '@mikro-orm/migrations';

export class Migration20261121063744_idempotency_claim_token extends Migration {
  override up(): void {
    // Whoever holds the claim token may complete the key; a request whose claim was taken over
    // (its lease ran out) cannot also commit its result.
    this.addSql(`alter table idempotency_keys add column claim_token uuid`);
  }

  override down(): void {
    this.addSql(`alter table idempotency_keys drop column if exists claim_token`);
  }
}
