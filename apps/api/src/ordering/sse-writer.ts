import type { ServerResponse } from 'node:http';
import type { StreamMessage, StreamSink } from '@emporium/ordering';

/** One message in the text/event-stream format. */
export function formatMessage(message: StreamMessage): string {
  if (message.kind === 'reset') {
    const data = { reason: message.reason, position: message.position };
    return `id: ${message.position}\nevent: reset\ndata: ${JSON.stringify(data)}\n\n`;
  }
  const { change } = message;
  const data = {
    orderId: change.orderId,
    status: change.status,
    version: change.version,
    position: change.position,
    occurredAt: change.occurredAt,
  };
  return `id: ${change.position}\nevent: ${change.type}\ndata: ${JSON.stringify(data)}\n\n`;
}

/**
 * A server-sent-events connection that respects the socket's backpressure: while the kernel
 * buffer is full, messages wait in a bounded queue; a client that lets the queue overflow is
 * dropped (it reconnects with Last-Event-ID and resumes from `event_log`), never buffered
 * without bound. A comment heartbeat keeps idle proxies from closing the stream.
 */
export class SseWriter implements StreamSink {
  private readonly queue: string[] = [];
  private waiting = false;
  private closed = false;
  private readonly waiters: Array<() => void> = [];
  private readonly heartbeat: NodeJS.Timeout;

  constructor(
    private readonly response: ServerResponse,
    private readonly options: { queueLimit: number; heartbeatMs: number },
  ) {
    this.heartbeat = setInterval(() => this.write(': keep-alive\n\n'), options.heartbeatMs);
    this.heartbeat.unref();
    response.on('close', () => this.finish());
  }

  get congested(): boolean {
    return this.waiting;
  }

  get ended(): boolean {
    return this.closed;
  }

  send(message: StreamMessage): void {
    this.write(formatMessage(message));
  }

  /** Anything else the stream carries (the reconnection delay, comments). */
  write(frame: string): void {
    if (this.closed) return;
    if (this.waiting) {
      this.queue.push(frame);
      if (this.queue.length > this.options.queueLimit) this.end('slow-client');
      return;
    }
    if (!this.response.write(frame)) this.awaitDrain();
  }

  drained(): Promise<void> {
    if (!this.waiting || this.closed) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  end(reason: 'shutdown' | 'slow-client'): void {
    if (this.closed) return;
    if (reason === 'slow-client') {
      this.response.destroy(); // what is queued will never be read
    } else {
      this.response.end();
    }
    this.finish();
  }

  private awaitDrain(): void {
    this.waiting = true;
    this.response.once('drain', () => this.flush());
  }

  private flush(): void {
    this.waiting = false;
    while (this.queue.length > 0 && !this.closed) {
      if (!this.response.write(this.queue.shift()!)) return this.awaitDrain();
    }
    for (const resolve of this.waiters.splice(0)) resolve();
  }

  private finish(): void {
    if (this.closed) return;
    this.closed = true;
    this.queue.length = 0;
    clearInterval(this.heartbeat);
    for (const resolve of this.waiters.splice(0)) resolve();
  }
}
