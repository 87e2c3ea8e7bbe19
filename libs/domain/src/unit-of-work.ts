import { randomInt } from 'node:crypto';
import { setTimeout as delay } from 'node:timers/promises';
import { Injectable } from '@nestjs/common';
import { EntityManager, MikroORM } from '@mikro-orm/postgresql';
import { AppConfig } from '@emporium/config';
import { isConcurrencyConflict, withCommit, withStatementsAsEvents } from '@emporium/database';
import { sql } from 'kysely';
import { AggregateRoot } from './aggregate-root.js';
import { DomainError } from './domain-error.js';
import type { CommandContext, CommandResult } from './command-context.js';
import { eventLogCommits } from './commit-signal.js';
import { changedRows } from './changed-rows.js';

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
        // Traced as the command's span, its statements as events (statement-events.ts).
        const result = await withStatementsAsEvents(() =>
          this.orm.em.fork().transactional((em) => this.runOnce(em, context, work)),
        );
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
    const changes = changedRows(em);

    // Every changed aggregate records at least one event: its stream version in event_log is
    // what keeps two writers of the same version apart (changed-rows.ts). The primary
    // aggregate's events first, then the others' (e.g. stock reservations).
    const aggregates = [primary, ...changes.created, ...changes.updated].filter(
      (entity, index, all): entity is AggregateRoot => entity instanceof AggregateRoot && all.indexOf(entity) === index,
    );
    const metadata = JSON.stringify({
      actor: context.actor.id,
      correlationId: context.correlationId,
      causationId: context.commandId,
      ...(context.traceparent ? { traceparent: context.traceparent } : {}),
      ...(context.tracestate ? { tracestate: context.tracestate } : {}),
    });
    const rows: unknown[][] = [];
    const recorded = new Set<AggregateRoot>();
    for (const aggregate of aggregates) {
      for (const event of aggregate.pullEvents()) {
        recorded.add(aggregate);
        rows.push([
          crypto.randomUUID(),
          event.type,
          event.schemaVersion,
          aggregate.aggregateType,
          aggregate.id,
          event.aggregateVersion,
          event.occurredAt,
          JSON.stringify(event.payload),
          metadata,
        ]);
      }
    }
    if (rows.length === 0) throw new Error('a command must record at least one event');
    const silent = changes.updated.find((entity) => entity instanceof AggregateRoot && !recorded.has(entity));
    if (silent) throw new Error(`${silent.constructor.name} changed without recording an event`);
    const claim = context.idempotency;
    if (claim) {
      // Verifies the claim and locks its row: no other request can take the key over before the
      // commit, so the response recorded with the events below is this command's.
      const claimed = await sql`update idempotency_keys set status_code = ${claim.successStatus}, completed_at = now()
        where actor = ${claim.actor} and key = ${claim.key} and claim_token = ${claim.token}
          and status_code is null`.execute(em.getKysely());
      // Another request took the key over: roll back rather than run the command twice.
      if (claimed.numAffectedRows !== 1n) throw new IdempotencyClaimLost();
    }
    // The changed rows, the event rows, the recorded response and the commit in one round trip
    // (RoundTripSavingClient). MikroORM's formatter inlines the values, as in its own statements.
    // Nothing may fail after this statement: it has committed.
    const values = rows.map(() => '(?, ?, ?, ?, ?, ?, ?, ?::jsonb, ?::jsonb)').join(', ');
    const appendEvents = `with appended as (
        insert into event_log (id, type, schema_version, aggregate_type, aggregate_id, aggregate_version, occurred_at, payload, metadata)
        values ${values} returning position)
      ${
        claim
          ? `, response as (update idempotency_keys
              set response_body = jsonb_build_object('id', ?::text, 'version', ?::int, 'position', (select max(position) from appended)::text)
              where actor = ? and key = ? and claim_token = ?)`
          : ''
      }
      select max(position)::text as position from appended`;
    const [{ position }] = await em.execute<Array<{ position: string }>>(
      withCommit([...changes.statements, appendEvents].join(';\n')),
      [
        ...changes.params,
        ...rows.flat(),
        ...(claim ? [primary.id, primary.streamVersion, claim.actor, claim.key, claim.token] : []),
      ],
    );
    // The entity manager would flush these changes again when the transaction ends.
    em.clear();
    const result = { id: primary.id, version: primary.streamVersion, position };
    return result;
  }
}
