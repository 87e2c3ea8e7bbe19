import { randomInt } from 'node:crypto';
import { setTimeout as delay } from 'node:timers/promises';
import { Injectable } from '@nestjs/common';
import { EntityManager, MikroORM } from '@mikro-orm/postgresql';
import { AppConfig } from '@emporium/config';
import { isConcurrencyConflict } from '@emporium/database';
import { sql } from 'kysely';
import { AggregateRoot } from './aggregate-root.js';
import { DomainError } from './domain-error.js';
import type { CommandContext, CommandResult } from './command-context.js';
import { EventLogEntry } from './event-log.entity.js';
import { eventLogCommits } from './commit-signal.js';

/** Still conflicting after every retry: the client may try again later. */
export class ConcurrentModification extends DomainError {
  readonly kind = 'conflict';
  readonly code = 'concurrent-modification';
  constructor() {
    super('the resource is being changed by other requests right now; retry shortly');
  }
}

export class IdempotencyClaimLost extends DomainError {
  readonly kind = 'conflict';
  readonly code = 'idempotency-key-in-progress';
  constructor() {
    super('another request with this Idempotency-Key took over; retry to get its result');
  }
}

export interface UnitOfWorkOptions {
  /** False when the client sent If-Match: a conflict then means "stale", not "try again". */
  retryOnConflict?: boolean;
}

/**
 * Runs one command: one transaction that holds the aggregate changes and the `event_log` rows
 * for every event they recorded, each at the stream version its aggregate gave it. A concurrency
 * conflict (a stale stream version, a deadlock, a second writer of the same stream version)
 * re-runs the whole command on fresh state, a bounded number of times with jitter.
 */
@Injectable()
export class UnitOfWork {
  constructor(
    private readonly orm: MikroORM,
    private readonly config: AppConfig,
  ) {}

  async execute<T extends AggregateRoot>(
    context: CommandContext,
    work: (em: EntityManager) => Promise<T>,
    options: UnitOfWorkOptions = {},
  ): Promise<CommandResult> {
    const retry = options.retryOnConflict ?? true;
    for (let attempt = 1; ; attempt++) {
      try {
        const result = await this.orm.em.fork().transactional((em) => this.runOnce(em, context, work));
        eventLogCommits.notify();
        return result;
      } catch (error) {
        if (!retry || !isConcurrencyConflict(error)) throw error;
        if (attempt > this.config.commandMaxRetries) throw new ConcurrentModification();
        await delay(randomInt(1, 5 * attempt + 2));
      }
    }
  }

  private async runOnce<T extends AggregateRoot>(
    em: EntityManager,
    context: CommandContext,
    work: (em: EntityManager) => Promise<T>,
  ): Promise<CommandResult> {
    const primary = await work(em);
    em.persist(primary);
    await em.flush();

    // The primary aggregate's event first, then the others (e.g. stock reservations).
    const aggregates = [primary, ...em.getUnitOfWork().getIdentityMap().values()].filter(
      (entity, index, all): entity is AggregateRoot => entity instanceof AggregateRoot && all.indexOf(entity) === index,
    );
    const entries: EventLogEntry[] = [];
    for (const aggregate of aggregates) {
      for (const event of aggregate.pullEvents()) {
        entries.push(
          new EventLogEntry({
            id: crypto.randomUUID(),
            type: event.type,
            schemaVersion: event.schemaVersion,
            aggregateType: aggregate.aggregateType,
            aggregateId: aggregate.id,
            aggregateVersion: event.aggregateVersion,
            occurredAt: event.occurredAt,
            payload: event.payload,
            metadata: {
              actor: context.actor.id,
              correlationId: context.correlationId,
              causationId: context.commandId,
              ...(context.traceparent ? { traceparent: context.traceparent } : {}),
              ...(context.tracestate ? { tracestate: context.tracestate } : {}),
            },
          }),
        );
      }
    }
    if (entries.length === 0) throw new Error('a command must record at least one event');
    em.persist(entries);
    await em.flush();
    const position = entries.reduce((max, e) => (BigInt(e.position) > max ? BigInt(e.position) : max), 0n);
    const result = { id: primary.id, version: primary.streamVersion, position: position.toString() };
    const claim = context.idempotency;
    if (claim) {
      const recorded = await sql`update idempotency_keys set status_code = ${claim.successStatus},
          response_body = ${JSON.stringify(result)}::jsonb, completed_at = now()
        where actor = ${claim.actor} and key = ${claim.key} and claim_token = ${claim.token}
          and status_code is null`.execute(em.getKysely());
      // Another request took the key over: roll back rather than run the command twice.
      if (recorded.numAffectedRows !== 1n) throw new IdempotencyClaimLost();
    }
    return result;
  }
}
