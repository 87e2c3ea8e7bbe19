import { Query } from '@nestjs/cqrs';
import { DomainError } from '@emporium/domain';

export interface DailySalesRow {
  day: string;
  productId: string;
  category: string;
  currency: string;
  units: number;
  revenueCents: number;
}

/** Days the report covers when none are given: the last 30, today (UTC) included. */
export const DEFAULT_SALES_DAYS = 30;

export class GetDailySales extends Query<{ items: DailySalesRow[] }> {
  /**
   * `from`/`to`: inclusive UTC days (`YYYY-MM-DD`). Without `to`, today; without `from`, the 30
   * days that end on `to`. `category` matches case-insensitively.
   */
  constructor(readonly filter: { from?: string; to?: string; category?: string }) {
    super();
  }
}

export class InvalidSalesRange extends DomainError {
  readonly kind = 'invalid';
  readonly code = 'invalid-range';
  constructor(from: string, to: string) {
    super(`from must not be after to (from ${from}, to ${to})`);
  }
}
