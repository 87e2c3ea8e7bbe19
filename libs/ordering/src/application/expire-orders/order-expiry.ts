import { Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { MikroORM } from '@mikro-orm/postgresql';
import { AppConfig } from '@emporium/config';
import { CommandContext, DomainError } from '@emporium/domain';
import { Order } from '../../domain/order.entity.js';
import { ExpireOrder } from './expire-order.command.js';
import { ExpireOrderHandler } from './expire-order.handler.js';

/** Overdue orders taken per query; a full batch means there may be more right away. */
const BATCH = 100;

/**
 * Cancels orders whose payment is overdue (ORDER_PAYMENT_TIMEOUT). The orders table is the
 * schedule: an order is due when it is still `placed` and was placed longer ago than the
 * timeout, so no timer in memory has to survive a restart, and the expiry commits in the same
 * transaction as the status change that makes the order no longer due. A sweep every
 * ORDER_EXPIRY_INTERVAL_MS reads due orders oldest first from a partial index and expires each
 * in a command of its own; several processes may sweep at once (each order is locked with
 * SKIP LOCKED, and an order another process already expired is no longer `placed`).
 */
@Injectable()
export class OrderExpiry implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(OrderExpiry.name);
  private timer: NodeJS.Timeout | undefined;
  private sweeping: Promise<unknown> | undefined;
  private stopped = false;

  constructor(
    private readonly orm: MikroORM,
    private readonly config: AppConfig,
    private readonly expire: ExpireOrderHandler,
  ) {}

  onApplicationBootstrap(): void {
    if (this.config.orders.paymentTimeoutMs === undefined) return;
    this.schedule(0);
  }

  async onApplicationShutdown(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.sweeping;
  }

  /** Expires every order overdue now; resolves to how many it expired. */
  async sweep(now = new Date()): Promise<number> {
    const timeoutMs = this.config.orders.paymentTimeoutMs;
    if (timeoutMs === undefined) return 0;
    const cutoff = new Date(now.getTime() - timeoutMs);
    let expired = 0;
    for (;;) {
      const due = await this.orm.em
        .fork()
        .find(
          Order,
          { status: 'placed', placedAt: { $lte: cutoff } },
          { fields: ['id'], orderBy: { placedAt: 'asc' }, limit: BATCH },
        );
      let changed = 0;
      for (const { id } of due) {
        if (this.stopped) return expired;
        try {
          await this.expire.execute(new ExpireOrder(CommandContext.system(), id, now, timeoutMs));
          expired++;
          changed++;
        } catch (error) {
          // Paid, cancelled or being changed since it was read: nothing to do, or the next sweep's.
          if (!(error instanceof DomainError && error.kind === 'conflict')) throw error;
        }
      }
      if (due.length < BATCH || changed === 0) return expired;
    }
  }

  private schedule(delayMs: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.sweeping = this.sweep()
        .then((expired) => {
          if (expired > 0) this.logger.log(`expired ${expired} unpaid order(s)`);
        })
        .catch((error: unknown) => {
          // The database may be away; the orders stay due and the next sweep takes them.
          this.logger.warn(`order expiry sweep failed: ${(error as Error).message}`);
        })
        .finally(() => {
          this.sweeping = undefined;
          this.schedule(this.config.orders.expiryIntervalMs);
        });
    }, delayMs);
    this.timer.unref();
  }
}
