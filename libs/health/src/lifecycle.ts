import { Injectable, Optional, type BeforeApplicationShutdown } from '@nestjs/common';
import { setTimeout as delay } from 'node:timers/promises';
import { AppConfig } from '@emporium/config';

export type LifecycleState = 'starting' | 'ready' | 'draining';

/**
 * Readiness: `starting` until the app listens, `ready`, then `draining` from the moment shutdown
 * begins. Shutdown waits SHUTDOWN_DRAIN_DELAY_MS in `draining` before the server stops accepting,
 * so a load balancer that polls readiness stops sending traffic first.
 */
@Injectable()
export class Lifecycle implements BeforeApplicationShutdown {
  private state: LifecycleState = 'starting';

  constructor(@Optional() private readonly config?: AppConfig) {}

  markReady(): void {
    if (this.state === 'starting') this.state = 'ready';
  }

  async beforeApplicationShutdown(): Promise<void> {
    this.state = 'draining';
    const wait = this.config?.shutdownDrainDelayMs ?? 0;
    if (wait > 0) await delay(wait);
  }

  get status(): LifecycleState {
    return this.state;
  }
}
