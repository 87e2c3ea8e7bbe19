import { Logger } from '@nestjs/common';
import { BaseRpcContext, Server, type CustomTransportStrategy } from '@nestjs/microservices';
import type { ChannelModel, ConfirmChannel, ConsumeMessage, Options } from 'amqplib';
import { context, trace } from '@opentelemetry/api';
import { envelopeProblem, type EventEnvelope } from '@emporium/contracts';
import { contextFrom } from '@emporium/telemetry';
import { BrokerConnection } from './broker-connection.js';
import { ProjectionTopology } from './topology.js';
import type { ProjectionSettlement } from '../projection/projection.js';
import { dispatchToProjection } from '../projection/dispatch.js';

export const Headers = {
  attempts: 'x-emporium-attempts',
  transientRetries: 'x-emporium-transient-retries',
  error: 'x-emporium-error',
  failedAt: 'x-emporium-failed-at',
  projection: 'x-emporium-projection',
  originalRoutingKey: 'x-original-routing-key',
} as const;

/** Handed to `@EventPattern(<projection>)` handlers as `@Ctx()`. */
export class ProjectionMessageContext extends BaseRpcContext<[ConsumeMessage, string]> {
  get message(): ConsumeMessage {
    return this.args[0];
  }
  get projection(): string {
    return this.args[1];
  }
}

export interface RabbitMqTransportOptions {
  url: string;
  exchange: string;
  queuePrefix: string;
  prefetch: number;
  retryDelaysMs: number[];
  connectionName: string;
  projections: ReadonlyArray<{ name: string; eventTypes: readonly string[] }>;
  /** Test-only fault injection (CRASH_AT). */
  crashAt?: 'relay-after-confirm' | 'projector-after-commit' | 'projector-mid-batch';
}

/**
 * A Nest microservice transport for projections, on amqplib. Nest's built-in RMQ transport
 * auto-acks, publishes non-persistent messages, has unbounded prefetch and leaves a message
 * un-acked when an event handler throws (docs/adr/0004-projector-transport.md). Here:
 *
 * - each projection consumes its own durable queue, with bounded prefetch and manual acks;
 * - a message is acked only after its handler's transaction committed;
 * - a failed apply is re-queued through delay queues (backoff), then dead-lettered with the
 *   reason, attempt count and original routing key; poison is dead-lettered at once;
 * - on close, consumers are cancelled and in-flight messages finish and are acked.
 */
export class RabbitMqTransport extends Server implements CustomTransportStrategy {
  protected override readonly logger = new Logger(RabbitMqTransport.name);
  private readonly broker: BrokerConnection;
  private readonly topologies: ProjectionTopology[];
  private readonly channels = new Map<string, { channel: ConfirmChannel; consumerTag: string }>();
  private readonly inFlight = new Set<Promise<void>>();
  private closing = false;

  constructor(private readonly options: RabbitMqTransportOptions) {
    super();
    this.broker = new BrokerConnection(options.url, options.connectionName);
    this.topologies = options.projections.map(
      (p) => new ProjectionTopology(options.exchange, options.queuePrefix, p.name, p.eventTypes, options.retryDelaysMs),
    );
  }

  get isConnected(): boolean {
    return this.broker.isConnected;
  }

  topology(projection: string): ProjectionTopology | undefined {
    return this.topologies.find((t) => t.projection === projection);
  }

  async listen(callback: (error?: unknown) => void): Promise<void> {
    for (const topology of this.topologies) {
      if (!this.getHandlerByPattern(topology.projection)) {
        callback(new Error(`no @EventPattern('${topology.projection}') handler is registered`));
        return;
      }
    }
    try {
      await this.broker.onConnected((connection) => this.consumeAll(connection));
      await this.broker.start();
      this._status$.next('connected');
      callback();
    } catch (error) {
      callback(error);
    }
  }

  async close(): Promise<void> {
    this.closing = true;
    for (const [, { channel, consumerTag }] of this.channels) {
      await channel.cancel(consumerTag).catch(() => undefined);
    }
    await Promise.allSettled([...this.inFlight]);
    await this.broker.close();
    this.channels.clear();
    this._status$.next('disconnected');
  }

  on(): never {
    throw new Error('RabbitMqTransport does not emit events');
  }

  unwrap<T>(): T {
    return this.broker as T;
  }

  private async consumeAll(connection: ChannelModel): Promise<void> {
    this.channels.clear();
    for (const topology of this.topologies) {
      const channel = await connection.createConfirmChannel();
      channel.on('error', (error: Error) => this.logger.warn(`${topology.queue} channel error: ${error.message}`));
      channel.on('close', () => {
        if (this.channels.get(topology.projection)?.channel === channel && !this.closing) {
          this.broker.recycle(`the ${topology.queue} channel closed`);
        }
      });
      await topology.declare(channel);
      await channel.prefetch(this.options.prefetch);
      if (this.closing) return;
      const { consumerTag } = await channel.consume(
        topology.queue,
        (message) => {
          if (message) this.track(this.onMessage(topology, channel, message));
          else this.broker.recycle(`the broker cancelled the ${topology.queue} consumer`);
        },
        { noAck: false },
      );
      this.channels.set(topology.projection, { channel, consumerTag });
    }
  }

  private track(work: Promise<void>): void {
    this.inFlight.add(work);
    void work.finally(() => this.inFlight.delete(work));
  }

  private async onMessage(
    topology: ProjectionTopology,
    channel: ConfirmChannel,
    message: ConsumeMessage,
  ): Promise<void> {
    const settlement = await this.settle(topology, message);
    // Failure windows for the chaos suite: committed but not acked; or with other messages mid-apply.
    if (settlement.ok && this.options.crashAt === 'projector-after-commit') process.kill(process.pid, 'SIGKILL');
    if (settlement.ok && this.options.crashAt === 'projector-mid-batch' && this.inFlight.size >= 3) {
      process.kill(process.pid, 'SIGKILL');
    }
    if (settlement.ok) channel.ack(message);
    else await this.fail(topology, channel, message, settlement);
  }

  private async settle(topology: ProjectionTopology, message: ConsumeMessage): Promise<ProjectionSettlement> {
    let envelope: EventEnvelope;
    try {
      envelope = JSON.parse(message.content.toString('utf8')) as EventEnvelope;
    } catch {
      return { ok: false, kind: 'poison', reason: 'body is not valid JSON' };
    }
    const problem = envelopeProblem(envelope);
    if (problem) return { ok: false, kind: 'poison', reason: `invalid envelope: ${problem}` };
    return this.dispatch(topology, message, envelope);
  }

  private async dispatch(
    topology: ProjectionTopology,
    message: ConsumeMessage,
    envelope: EventEnvelope,
  ): Promise<ProjectionSettlement> {
    const handler = this.getHandlerByPattern(topology.projection);
    if (!handler) return { ok: false, kind: 'failed', reason: `no handler for ${topology.projection}` };
    // Inside amqplib's consume span when instrumentation runs; otherwise continue the stored trace.
    const parent = trace.getSpan(context.active()) ? context.active() : contextFrom(message.properties.headers);
    return dispatchToProjection(
      handler,
      (result) => this.transformToObservable(result),
      topology.projection,
      envelope,
      parent,
      new ProjectionMessageContext([message, topology.projection]),
    );
  }

  private async fail(
    topology: ProjectionTopology,
    channel: ConfirmChannel,
    message: ConsumeMessage,
    failure: Extract<ProjectionSettlement, { ok: false }>,
  ): Promise<void> {
    const headers = message.properties.headers ?? {};
    const attempts = Number(headers[Headers.attempts] ?? 0);
    const transientRetries = Number(headers[Headers.transientRetries] ?? 0);
    let target: string;
    let nextHeaders: Record<string, unknown>;
    if (failure.kind === 'transient') {
      // The database is down or overloaded: not the message's fault. Retry at the longest delay
      // for as long as it takes; never dead-letter because of it.
      target = topology.retryQueue(topology.retryDelaysMs.length);
      nextHeaders = { [Headers.transientRetries]: transientRetries + 1 };
    } else {
      const retry = failure.kind === 'failed' && attempts < topology.retryDelaysMs.length;
      target = retry ? topology.retryQueue(attempts + 1) : topology.deadLetterQueue;
      nextHeaders = { [Headers.attempts]: attempts + 1 };
    }
    const properties: Options.Publish = {
      ...message.properties,
      headers: {
        ...headers,
        ...nextHeaders,
        [Headers.error]: failure.reason.slice(0, 1000),
        [Headers.failedAt]: new Date().toISOString(),
        [Headers.projection]: topology.projection,
        [Headers.originalRoutingKey]:
          (headers[Headers.originalRoutingKey] as string | undefined) ?? message.fields.routingKey,
      },
      persistent: true,
      expiration: undefined,
    };
    try {
      await new Promise<void>((resolve, reject) => {
        channel.sendToQueue(target, message.content, properties, (err: unknown) =>
          err ? reject(err instanceof Error ? err : new Error('publish was not confirmed')) : resolve(),
        );
      });
      channel.ack(message);
      const level = target === topology.deadLetterQueue ? 'warn' : 'debug';
      this.logger[level](
        `${topology.projection}: message ${String(message.properties.messageId)} -> ${target}: ${failure.reason}`,
      );
    } catch (publishError) {
      // Could not park it: leave it to the broker (redelivered on reconnect), never drop it.
      this.logger.error(`${topology.projection}: could not move a failed message: ${(publishError as Error).message}`);
      try {
        channel.nack(message, false, true);
      } catch {
        /* channel already closed: the broker redelivers */
      }
    }
  }
}
