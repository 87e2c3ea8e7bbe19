import { EventEmitter } from 'node:events';

/**
 * "event_log has new rows", inside one process. The unit of work raises it after each commit;
 * the in-process transport and the relay wake on it instead of waiting for their sweep. Across
 * processes LISTEN/NOTIFY does this job; the embedded database is one session and cannot.
 * A missed signal costs latency only: the sweep still finds every row.
 */
class CommitSignal {
  private readonly emitter = new EventEmitter().setMaxListeners(0);

  notify(): void {
    this.emitter.emit('commit');
  }

  /** Returns the unsubscribe function. */
  subscribe(listener: () => void): () => void {
    this.emitter.on('commit', listener);
    return () => this.emitter.off('commit', listener);
  }
}

export const eventLogCommits = new CommitSignal();
