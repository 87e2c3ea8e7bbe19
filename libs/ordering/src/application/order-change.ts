import type { EntityManager } from '@mikro-orm/postgresql';
import { Product } from '@emporium/catalog';
import type { CommandContext } from '@emporium/domain';
import { Order } from '../domain/order.entity.js';
import { OrderNotFound } from '../domain/order.errors.js';

/**
 * Loads an order the actor may see: its owner, or an admin where `admins` allows. Anyone else
 * gets "not found", never "forbidden", so an order's existence is not leaked; what a visible
 * order then allows (only its owner pays) is the aggregate's rule.
 */
export async function loadOrderFor(
  em: EntityManager,
  context: CommandContext,
  orderId: string,
  access: 'owner-or-admin' | 'admin',
): Promise<Order> {
  const order = await em.findOne(Order, { id: orderId });
  const allowed = access === 'admin' ? context.isAdmin() : order?.isVisibleTo(context.actor);
  if (!order || !allowed) throw new OrderNotFound(orderId);
  return order;
}

/**
 * Products locked `FOR UPDATE` in id order: concurrent orders for a hot product queue on the row
 * instead of failing optimistic checks, and two orders can never deadlock. The rows become
 * managed entities of `em` (`em.map`), tracked for the unit of work like any loaded ones; the
 * statement is written out because MikroORM's query builder cost more than the round trip on
 * the hottest command (BENCHMARKS.md).
 */
export async function lockProducts(em: EntityManager, ids: readonly string[]): Promise<Product[]> {
  const rows = await em.execute<Array<Record<string, unknown>>>(
    `select * from products where id in (${ids.map(() => '?').join(', ')}) order by id for update`,
    [...ids],
  );
  return rows.map((row) => em.map(Product, row));
}
