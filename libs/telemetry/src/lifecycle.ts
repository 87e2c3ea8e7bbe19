import { Injectable, type BeforeApplicationShutdown } from '@nestjs/common';

/** Ready once the app listens; not ready from the moment shutdown begins (drain first). */
@Injectable()
export class Lifecycle implements BeforeApplicationShutdown {
  private state: 'starting' | 'ready' | 'draining' = 'starting';

  markReady(): void {
    if (this.state === 'starting') this.state = 'ready';
  }

  beforeApplicationShutdown(): void {
    this.state = 'draining';
  }

  get status(): 'starting' | 'ready' | 'draining' {
    return this.state;
  }
}
