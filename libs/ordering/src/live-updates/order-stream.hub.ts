import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { MikroORM } from '@mikro-orm/postgresql';
import { AppConfig } from '@emporium/config';
import type { Actor } from '@emporium/domain';
import { scrapedGauge } from '@emporium/telemetry';
import { OrderChangeReader } from './order-change.reader.js';
import { canSee, compareCursors, ORIGIN, type OrderChange, type StreamCursor } from './order-change.js';

/** How an api process hears that order events may have been committed (its transport's live feed). */
export interface OrderChangeFeed {
  start(topic: string, signal: (position: string | undefined) => void): Promise<void>;
  close(): Promise<void>;
}
export const ORDER_CHANGE_FEED = Symbol('ORDER_CHANGE_FEED');

/** What a stream sends: a change, or "start over" when a resume reaches back too far. */
export type StreamMessage =
  { kind: 'change'; change: OrderChange } | { kind: 'reset'; reason: ResetReason; position: string };

export type ResetReason = 'unknown-position' | 'too-old' | 'too-far-behind';

/** The connection behind a stream (the api's SSE writer): it queues with a bound and respects backpressure. */
export interface StreamSink {
  send(message: StreamMessage): void;
  /** True while the client has not taken what was sent (the socket buffer is full). */
  readonly congested: boolean;
  /** Resolves when the client has caught up, or the stream ended. */
  drained(): Promise<void>;
  readonly ended: boolean;
  /** Ends the stream (the api drains, or the client cannot keep up). */
  end(reason: 'shutdown' | 'slow-client'): void;
}

export class TooManyStreams extends Error {
  override readonly name = 'TooManyStreams';
  constructor(readonly limit: number) {
    super(`at most ${limit} live order streams per user are open at a time`);
  }
}

export class StreamsUnavailable extends Error {
  override readonly name = 'StreamsUnavailable';
  constructor() {
    super('this api process is shutting down; reconnect');
  }
}

const BATCH = 500;
/** A signalled event not read yet is usually held back by an older transaction still running. */
const RECHECK_MS = 25;
const AWAIT_SIGNAL_MS = 10_000;
const RECENT = 4096;

class Session {
  last: StreamCursor;
  live = false;
  closed = false;
  readonly buffer: OrderChange[] = [];

  constructor(
    readonly actor: Actor,
    readonly sink: StreamSink,
    start: StreamCursor,
    private readonly bufferLimit: number,
    private readonly onClose: (session: Session) => void,
  ) {
    this.last = start;
  }

  /** A batch read by the hub: sent at once when live, kept (bounded) while the replay runs. */
  deliver(changes: readonly OrderChange[]): void {
    if (this.sink.ended) this.close();
    if (this.closed) return;
    for (const change of changes) {
      if (!canSee(this.actor, change)) continue;
      if (!this.live) {
        this.buffer.push(change);
        if (this.buffer.length > this.bufferLimit) return this.drop();
        continue;
      }
      this.sendIfNew(change);
    }
  }

  sendIfNew(change: OrderChange): void {
    if (compareCursors(change, this.last) <= 0) return; // already sent (replay and live overlap)
    this.last = change;
    this.sink.send({ kind: 'change', change });
  }

  /** After the replay: the buffered batches, skipping what the replay already sent, then live. */
  goLive(): void {
    for (const change of this.buffer.splice(0)) this.sendIfNew(change);
    this.live = true;
  }

  drop(): void {
    this.sink.end('slow-client');
    this.close();
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.buffer.length = 0;
    this.onClose(this);
  }
}

/** An opened stream: `close` when the client goes away. */
export interface StreamHandle {
  close(): void;
}

/**
 * Live order updates for every stream of this api process. One reader per process follows
 * `event_log` gap-safely (OrderChangeReader) and fans each batch out to the streams that may see
 * it; the transport's live feed wakes it (a RabbitMQ queue of this process's own, or the
 * in-process commit signal), with a sweep as the safety net. A stream that resumes replays from
 * `event_log` first: it registers for live batches before the replay, buffers them, and sends
 * them after it, skipping what the replay covered, so the seam has neither gaps nor repeats.
 */
@Injectable()
export class OrderStreamHub implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(OrderStreamHub.name);
  private readonly reader: OrderChangeReader;
  private readonly sessions = new Set<Session>();
  private readonly perUser = new Map<string, number>();
  /** Where the shared reader stands; undefined while no stream is open (it starts at the head). */
  private cursor: StreamCursor | undefined;
  private loadingCursor: Promise<StreamCursor> | undefined;
  private generation = 0;
  private reading: Promise<void> | undefined;
  private again = false;
  private closing = false;
  private sweepTimer: NodeJS.Timeout | undefined;
  private recheckTimer: NodeJS.Timeout | undefined;
  /** Positions the feed announced that the reader has not reached yet, with when they were announced. */
  private readonly awaited = new Map<string, number>();
  private readonly recent = new Set<string>();

  constructor(
    orm: MikroORM,
    private readonly config: AppConfig,
    @Inject(ORDER_CHANGE_FEED) private readonly feed: OrderChangeFeed,
  ) {
    this.reader = new OrderChangeReader(orm);
    scrapedGauge('emporium_order_streams_open', 'Live order streams open on this process', [], (set) => {
      set({}, this.sessions.size);
      return Promise.resolve();
    });
  }

  async onApplicationBootstrap(): Promise<void> {
    await this.feed.start('ordering.order.*', (position) => this.signal(position));
    this.sweepTimer = setInterval(() => this.tick(), this.config.relay.sweepIntervalMs);
    this.sweepTimer.unref();
  }

  async onApplicationShutdown(): Promise<void> {
    this.endAll();
    clearInterval(this.sweepTimer);
    clearTimeout(this.recheckTimer);
    await this.reading;
    await this.feed.close();
  }

  /** Open streams of this process (for tests and metrics). */
  get openStreams(): number {
    return this.sessions.size;
  }

  /**
   * Takes one of the user's stream slots, or refuses: too many streams, or shutting down. Call
   * before answering, so a refusal can still be a problem document.
   */
  reserve(actor: Actor): {
    open: (lastEventId: string | undefined, sink: StreamSink) => Promise<StreamHandle>;
    release: () => void;
  } {
    if (this.closing) throw new StreamsUnavailable();
    const limit = this.config.orderStream.maxPerUser;
    const count = this.perUser.get(actor.id) ?? 0;
    if (count >= limit) throw new TooManyStreams(limit);
    this.perUser.set(actor.id, count + 1);
    let released = false;
    const release = (): void => {
      if (released) return;
      released = true;
      const left = (this.perUser.get(actor.id) ?? 1) - 1;
      if (left > 0) this.perUser.set(actor.id, left);
      else this.perUser.delete(actor.id);
    };
    return { open: (lastEventId, sink) => this.open(actor, lastEventId, sink, release), release };
  }

  /** Ends every stream (the api is draining): clients reconnect, with Last-Event-ID, elsewhere. */
  endAll(): void {
    this.closing = true;
    for (const session of [...this.sessions]) {
      session.sink.end('shutdown');
      session.close();
    }
  }

  private async open(
    actor: Actor,
    lastEventId: string | undefined,
    sink: StreamSink,
    release: () => void,
  ): Promise<StreamHandle> {
    const { replayMaxEvents, replayMaxAgeMs, queueLimit } = this.config.orderStream;
    let from: StreamCursor | undefined;
    let reset: 'unknown-position' | 'too-old' | 'too-far-behind' | undefined;
    if (lastEventId !== undefined) {
      const at = lastEventId === '0' ? { ...ORIGIN, occurredAt: undefined } : await this.reader.at(lastEventId);
      if (!at) reset = 'unknown-position';
      else if (at.occurredAt && Date.now() - at.occurredAt.getTime() > replayMaxAgeMs) reset = 'too-old';
      else from = { txId: at.txId, position: at.position };
    }
    const head = await this.headCursor();
    // No await between reading the head and registering: the next batch the reader fans out
    // starts right after `head`.
    const session = new Session(actor, sink, from ?? head, queueLimit, (s) => {
      this.sessions.delete(s);
      release();
      if (this.sessions.size === 0) this.forgetCursor();
    });
    if (this.closing) {
      release();
      throw new StreamsUnavailable();
    }
    this.sessions.add(session);
    try {
      if (from) {
        const replay = await this.reader.after(from, replayMaxEvents + 1);
        if (replay.length > replayMaxEvents) {
          reset = 'too-far-behind';
        } else {
          for (const change of replay) {
            if (session.closed || sink.ended) break;
            if (canSee(actor, change)) session.sendIfNew(change);
            else session.last = change; // covered, though not this user's
            if (sink.congested) await sink.drained();
          }
        }
      }
      if (reset) {
        session.last = head;
        sink.send({ kind: 'reset', reason: reset, position: head.position });
      }
      if (sink.ended) session.close();
      if (!session.closed) session.goLive();
    } catch (error) {
      session.close();
      throw error;
    }
    return { close: () => session.close() };
  }

  private async headCursor(): Promise<StreamCursor> {
    if (this.cursor) return this.cursor;
    const generation = this.generation;
    this.loadingCursor ??= this.reader
      .head()
      .then((head) => head ?? ORIGIN)
      .finally(() => (this.loadingCursor = undefined));
    const head = await this.loadingCursor;
    if (this.generation === generation && !this.cursor) this.cursor = head;
    return this.cursor ?? head;
  }

  /** No stream left: stop following; the next stream starts at the head of that moment. */
  private forgetCursor(): void {
    this.cursor = undefined;
    this.generation += 1;
    this.awaited.clear();
  }

  private signal(position: string | undefined): void {
    if (this.sessions.size === 0) return;
    if (position !== undefined && !this.recent.has(position)) this.awaited.set(position, Date.now());
    this.tick();
  }

  private tick(): void {
    if (this.sessions.size === 0 || this.closing) return;
    if (this.reading) {
      this.again = true;
      return;
    }
    this.reading = this.readAll()
      .catch((error: unknown) => this.logger.warn(`live order updates: ${(error as Error).message}`))
      .finally(() => {
        this.reading = undefined;
        if (this.again) {
          this.again = false;
          this.tick();
        } else this.recheckLater();
      });
  }

  private async readAll(): Promise<void> {
    for (;;) {
      this.again = false;
      const cursor = this.cursor;
      const generation = this.generation;
      if (!cursor || this.sessions.size === 0) return;
      const changes = await this.reader.after(cursor, BATCH);
      if (generation !== this.generation || changes.length === 0) return;
      this.cursor = changes[changes.length - 1];
      for (const change of changes) this.remember(change.position);
      for (const session of [...this.sessions]) session.deliver(changes);
      if (changes.length < BATCH) return;
    }
  }

  private remember(position: string): void {
    this.awaited.delete(position);
    this.recent.add(position);
    if (this.recent.size > RECENT) this.recent.delete(this.recent.values().next().value!);
  }

  /** Announced events not read yet wait for an older transaction: look again shortly. */
  private recheckLater(): void {
    const now = Date.now();
    for (const [position, at] of this.awaited) if (now - at > AWAIT_SIGNAL_MS) this.awaited.delete(position);
    if (this.awaited.size === 0 || this.recheckTimer) return;
    this.recheckTimer = setTimeout(() => {
      this.recheckTimer = undefined;
      this.tick();
    }, RECHECK_MS);
    this.recheckTimer.unref();
  }
}
