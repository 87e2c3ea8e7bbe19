import { eventLogCommits } from '@emporium/domain';
import type { LiveFeed } from '../live/live-feed.js';

/**
 * The embedded mode's live feed: one process writes every event, so the unit of work's commit
 * signal in this process is every commit there is (the same signal the in-process transport
 * wakes on). Commits carry no type: every one rings.
 */
export class EventLogLiveFeed implements LiveFeed {
  readonly connected = true;
  private unsubscribe: (() => void) | undefined;

  start(_topic: string, signal: (position: string | undefined) => void): Promise<void> {
    this.unsubscribe = eventLogCommits.subscribe(() => signal(undefined));
    return Promise.resolve();
  }

  close(): Promise<void> {
    this.unsubscribe?.();
    this.unsubscribe = undefined;
    return Promise.resolve();
  }
}
