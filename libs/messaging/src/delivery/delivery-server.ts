import { Logger } from '@nestjs/common';
import { Server, type CustomTransportStrategy } from '@nestjs/microservices';
import { isObservable, lastValueFrom } from 'rxjs';
import type { EventEnvelope } from '@emporium/contracts';
import { DeliveryCore, type CoreCrashPoint, type DeliveryPolicy } from './delivery-core.js';
import type { DeliveryTransport, Subscription } from './port.js';

/**
 * The delivery core as a Nest microservice (a custom transport strategy): each subscription is
 * an event pattern whose handler the app registers (`addHandler`, from its list of
 * subscriptions), and the core calls that handler for every message of the subscription's queue.
 */
export class DeliveryServer extends Server implements CustomTransportStrategy {
  protected override readonly logger = new Logger(DeliveryServer.name);
  private core: DeliveryCore | undefined;

  constructor(
    private readonly transport: DeliveryTransport,
    private readonly subscriptions: readonly Subscription[],
    private readonly policy: DeliveryPolicy,
    private readonly crashAt?: CoreCrashPoint,
  ) {
    super();
  }

  get healthCheck(): string {
    return this.transport.healthCheck;
  }

  get connected(): boolean {
    return this.transport.connected;
  }

  /** Registers the handler of a subscription's events (resolves once handled durably). */
  subscribe(name: string, handle: (event: EventEnvelope) => Promise<unknown>): void {
    this.addHandler(name, (event: EventEnvelope) => handle(event), true);
  }

  async listen(callback: (error?: unknown) => void): Promise<void> {
    try {
      const subscribers = this.subscriptions.map((subscription) => {
        const handler = this.getHandlerByPattern(subscription.name);
        if (!handler) throw new Error(`no handler is registered for the subscription ${subscription.name}`);
        return {
          ...subscription,
          handle: async (event: EventEnvelope): Promise<unknown> => {
            const result: unknown = await handler(event);
            return isObservable(result) ? lastValueFrom(result, { defaultValue: undefined }) : result;
          },
        };
      });
      this.core = new DeliveryCore(this.transport, subscribers, this.policy, this.crashAt);
      await this.core.start();
      this._status$.next('connected');
      callback();
    } catch (error) {
      callback(error);
    }
  }

  async close(): Promise<void> {
    await this.core?.stop();
    this._status$.next('disconnected');
  }

  on(): never {
    throw new Error('DeliveryServer does not emit events');
  }

  unwrap<T>(): T {
    return this.transport as T;
  }
}
