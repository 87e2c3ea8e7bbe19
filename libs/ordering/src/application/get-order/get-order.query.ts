import { Query } from '@nestjs/cqrs';
import type { Actor } from '@emporium/domain';
import type { OrderView } from '../order-view.js';

export class GetOrder extends Query<OrderView> {
  constructor(
    readonly actor: Actor,
    readonly orderId: string,
  ) {
    super();
  }
}
