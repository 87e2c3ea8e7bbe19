import { Query } from '@nestjs/cqrs';
import type { Actor } from '@emporium/domain';
import type { OrderStatus } from '../../domain/order.entity.js';
import type { OrderView } from '../order-view.js';

export class ListOrders extends Query<{ items: OrderView[]; nextCursor: string | null }> {
  constructor(
    readonly actor: Actor,
    readonly filter: { status?: OrderStatus; customerId?: string; limit: number; cursor?: string },
  ) {
    super();
  }
}
