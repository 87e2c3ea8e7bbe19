import type { BaseRpcContext, MessageHandler } from '@nestjs/microservices';
import type { Context } from '@opentelemetry/api';
import { lastValueFrom, type Observable } from 'rxjs';
import type { EventEnvelope } from '@emporium/contracts';
import { projectionApplyDuration, SpanKind, withSpan } from '@emporium/telemetry';
import type { ProjectionSettlement } from './projection.js';

/**
 * Calls a projection's `@EventPattern` handler the same way for every transport: in a consumer
 * span under `parent`, timed, and always answering with a settlement (a thrown error is a
 * `failed` settlement, never an escaped exception).
 */
export async function dispatchToProjection(
  handler: MessageHandler,
  toObservable: (result: unknown) => Observable<unknown>,
  projection: string,
  envelope: EventEnvelope,
  parent: Context,
  rpcContext: BaseRpcContext,
): Promise<ProjectionSettlement> {
  const stop = projectionApplyDuration.startTimer({ projection });
  const settlement = await withSpan(
    `project ${projection}`,
    {
      parent,
      kind: SpanKind.CONSUMER,
      attributes: {
        'emporium.projection': projection,
        'emporium.event.type': envelope.type,
        'emporium.event.id': envelope.id,
        'emporium.aggregate.id': envelope.aggregateId,
        'emporium.position': envelope.position,
      },
    },
    async (span) => {
      const result = await invoke(handler, toObservable, envelope, rpcContext);
      span.setAttribute('emporium.outcome', result.ok ? result.outcome : result.kind);
      return result;
    },
  );
  stop({ outcome: settlement.ok ? settlement.outcome : settlement.kind });
  return settlement;
}

async function invoke(
  handler: MessageHandler,
  toObservable: (result: unknown) => Observable<unknown>,
  envelope: EventEnvelope,
  rpcContext: BaseRpcContext,
): Promise<ProjectionSettlement> {
  try {
    const result: unknown = await lastValueFrom(toObservable(await handler(envelope, rpcContext)), {
      defaultValue: undefined,
    });
    if (isSettlement(result)) return result;
    return { ok: true, outcome: 'applied' };
  } catch (error) {
    // Nest's RPC layer replaces thrown errors with { status, message }; keep what we can.
    const reason = error instanceof Error ? error.message : String((error as { message?: unknown })?.message ?? error);
    return { ok: false, kind: 'failed', reason };
  }
}

function isSettlement(value: unknown): value is ProjectionSettlement {
  return typeof value === 'object' && value !== null && typeof (value as { ok?: unknown }).ok === 'boolean';
}
