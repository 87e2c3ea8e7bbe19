import type { EntityManager } from '@mikro-orm/postgresql';
import type { CommandContext } from '@emporium/domain';
import { Order } from '../domain/order.entity.js';
import { OrderNotFound } from '../domain/order.errors.js';

/** Loads an order the actor may act on; anyone else gets "not found", never "forbidden". */
export async function loadOrderFor(
  em: EntityManager,
  context: CommandContext,
  orderId: string,
  access: 'owner' | 'owner-or-admin' | 'admin',
): Promise<Order> {
  const order = await em.findOne(Order, { id: orderId });
  const allowed =
    access === 'owner'
      ? order?.customerId === context.actor.id
      : access === 'admin'
        ? context.isAdmin()
        : order?.isVisibleTo(context.actor);
  if (!order || !allowed) throw new OrderNotFound(orderId);
  return order;
}
