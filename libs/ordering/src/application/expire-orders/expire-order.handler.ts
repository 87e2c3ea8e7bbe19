import { LockMode } from '@mikro-orm/postgresql';
import { CommandHandler, type ICommandHandler } from '@nestjs/cqrs';
import { StockReservation } from '@emporium/catalog';
import { DomainError, UnitOfWork, type CommandResult } from '@emporium/domain';
import { Instrumented } from '@emporium/telemetry';
import { Order } from '../../domain/order.entity.js';
import { lockProducts } from '../order-change.js';
import { ExpireOrder } from './expire-order.command.js';

/** Another transaction holds the order (another sweeper, or a payment about to commit). */
export class OrderBusy extends DomainError {
  readonly kind = 'conflict';
  readonly code = 'order-busy';
  constructor(orderId: string) {
    super(`order ${orderId} is being changed by another transaction`);
  }
}

/**
 * Cancels an overdue, unpaid order and releases its stock: the same transaction, events and
 * stock release as a customer's cancel, with the system as the actor. The order row is locked
 * first (SKIP LOCKED), so two sweepers never both take it, and a payment that committed first
 * leaves it `paid`, which the aggregate refuses to expire; one that commits later fails on the
 * order's version. Either the payment or the expiry happens, never both.
 */
@CommandHandler(ExpireOrder)
export class ExpireOrderHandler implements ICommandHandler<ExpireOrder> {
  constructor(private readonly uow: UnitOfWork) {}

  @Instrumented('command')
  execute({ context, orderId, now, timeoutMs }: ExpireOrder): Promise<CommandResult> {
    return this.uow.execute(context, async (em) => {
      const order = await em.findOne(Order, { id: orderId }, { lockMode: LockMode.PESSIMISTIC_PARTIAL_WRITE });
      if (!order) throw new OrderBusy(orderId);
      const lines = order.expire(now, timeoutMs);
      StockReservation.release(order.id, lines, await lockProducts(em, lines.map((l) => l.productId)));
      return order;
    });
  }
}
