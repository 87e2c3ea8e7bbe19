import { LockMode, type EntityManager } from '@mikro-orm/postgresql';
import { Product } from '@emporium/catalog';
import type { OrderLine } from '../domain/order.entity.js';

/**
 * Returns a cancelled order's units to stock. The products are locked in id order, as every
 * command that changes stock locks them, so two commands never wait on each other in a cycle.
 */
export async function releaseStock(em: EntityManager, orderId: string, lines: readonly OrderLine[]): Promise<void> {
  const products = await em.find(
    Product,
    { id: { $in: lines.map((l) => l.productId) } },
    { lockMode: LockMode.PESSIMISTIC_WRITE, orderBy: { id: 'asc' } },
  );
  for (const product of products) {
    product.release(orderId, lines.find((l) => l.productId === product.id)!.quantity);
  }
}
