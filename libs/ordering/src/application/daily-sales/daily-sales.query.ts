import { Query } from '@nestjs/cqrs';

export interface DailySalesRow {
  day: string;
  productId: string;
  category: string;
  currency: string;
  units: number;
  revenueCents: number;
}

export class GetDailySales extends Query<{ items: DailySalesRow[] }> {
  constructor(readonly filter: { from: string; to: string; category?: string }) {
    super();
  }
}
