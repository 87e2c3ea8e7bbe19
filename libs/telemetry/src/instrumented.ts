import { handlerCalls, handlerDuration } from './metrics.js';
import { withSpan } from './tracing.js';

/**
 * For CQRS handlers' `execute(commandOrQuery)`: a counter by outcome and a duration histogram,
 * and for commands a span named after the message type ("command PlaceOrder") that holds the
 * transaction's SQL spans and records the aggregate id and event position.
 *
 * Queries get no span of their own: a query is one HTTP request (its server span is named by
 * route) around one or two SQL statements (each its own span), so a third span said nothing new
 * and cost about a tenth of traced read throughput (BENCHMARKS.md).
 */
export function Instrumented(kind: 'command' | 'query'): MethodDecorator {
  return (_target, _key, descriptor: PropertyDescriptor) => {
    const original = descriptor.value as (message: object) => Promise<unknown>;
    descriptor.value = async function (this: unknown, message: object): Promise<unknown> {
      const type = message.constructor.name;
      const stop = handlerDuration.startTimer({ kind, type });
      try {
        const result =
          kind === 'query'
            ? await original.call(this, message)
            : await withSpan(`${kind} ${type}`, { attributes: { [`emporium.${kind}.type`]: type } }, async (span) => {
                const value = await original.call(this, message);
                const id = (value as { id?: unknown; position?: unknown } | undefined)?.id;
                const position = (value as { position?: unknown } | undefined)?.position;
                if (typeof id === 'string') span.setAttribute('emporium.aggregate.id', id);
                if (typeof position === 'string') span.setAttribute('emporium.position', position);
                return value;
              });
        handlerCalls.inc({ kind, type, outcome: 'ok' });
        return result;
      } catch (error) {
        handlerCalls.inc({ kind, type, outcome: (error as { kind?: string }).kind ?? 'error' });
        throw error;
      } finally {
        stop();
      }
    };
    return descriptor;
  };
}
