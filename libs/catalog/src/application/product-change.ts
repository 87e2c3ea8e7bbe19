import type { EntityManager } from '@mikro-orm/postgresql';
import type { CommandContext, CommandResult, UnitOfWork } from '@emporium/domain';
import { Product } from '../domain/product.entity.js';
import { ProductNotFound, StaleProductVersion } from '../domain/product.errors.js';

/**
 * The shape every admin change to one product shares: load it, honour If-Match (the stream
 * version the client last saw, as the read model and every command result report it), apply
 * one behaviour method. With If-Match a concurrent change is a 412, never a silent retry.
 */
export function changeProduct(
  uow: UnitOfWork,
  context: CommandContext,
  productId: string,
  expectedVersion: number | undefined,
  change: (product: Product) => void,
): Promise<CommandResult> {
  return uow
    .execute(
      context,
      async (em: EntityManager) => {
        const product = await em.findOne(Product, { id: productId });
        if (!product) throw new ProductNotFound(productId);
        if (expectedVersion !== undefined && product.streamVersion !== expectedVersion) {
          throw new StaleProductVersion(expectedVersion, product.streamVersion);
        }
        change(product);
        return product;
      },
      { retryOnConflict: expectedVersion === undefined },
    )
    .catch((error: unknown) => {
      if (expectedVersion !== undefined && (error as Error).name === 'OptimisticLockError') {
        throw new StaleProductVersion(expectedVersion, expectedVersion + 1);
      }
      throw error;
    });
}
