import { createServer, type Server, type Socket } from 'node:net';
import type { PGlite } from '@electric-sql/pglite';
import { PGLiteSocketHandler, type PGLiteSocketHandlerOptions } from '@electric-sql/pglite-socket';

/** Frontend messages of the extended query protocol that continue a batch ended by Sync ('S'). */
const EXTENDED_PROTOCOL = new Set(['P', 'B', 'D', 'E', 'C', 'H']);

interface Queued {
  handlerId: number;
  message: Uint8Array;
  onData: (data: Uint8Array) => void;
  resolve: (bytes: number) => void;
  reject: (error: unknown) => void;
}

/**
 * Orders the wire-protocol messages of every connection onto PGlite's single session.
 *
 * `@electric-sql/pglite-socket` 0.2 keeps a connection exclusive only while a transaction is
 * open, so outside one the Parse/Bind/Execute of two connections interleave: one connection's
 * Parse replaces the other's unnamed statement ("unnamed prepared statement does not exist", or
 * worse, parameters bound to the wrong statement). Here a connection owns the session from the
 * first message of an extended-protocol batch to its Sync, and for the whole of a transaction.
 * Everything else (framing, SSL and cancel requests, the startup handshake) stays the library's.
 */
class SessionQueue {
  private readonly queue: Queued[] = [];
  private processing = false;
  private owner: number | undefined;

  constructor(private readonly db: PGlite) {}

  enqueue(handlerId: number, message: Uint8Array, onData: (data: Uint8Array) => void): Promise<number> {
    return new Promise((resolve, reject) => {
      this.queue.push({ handlerId, message, onData, resolve, reject });
      void this.process();
    });
  }

  clearQueueForHandler(handlerId: number): void {
    for (let i = this.queue.length - 1; i >= 0; i--) {
      if (this.queue[i].handlerId === handlerId) {
        this.queue[i].reject(new Error('connection closed'));
        this.queue.splice(i, 1);
      }
    }
  }

  /** A connection went away: roll back what it left open and free the session. */
  async clearTransactionIfNeeded(handlerId: number): Promise<void> {
    if (this.owner !== handlerId) return;
    this.owner = undefined;
    if (this.db.isInTransaction()) await this.db.exec('rollback');
    void this.process();
  }

  private async process(): Promise<void> {
    if (this.processing) return;
    this.processing = true;
    try {
      for (;;) {
        const index = this.owner === undefined ? 0 : this.queue.findIndex((q) => q.handlerId === this.owner);
        if (index === -1 || this.queue.length === 0) return; // the owner's next message has not arrived yet
        const [next] = this.queue.splice(index, 1);
        let bytes = 0;
        try {
          await this.db.runExclusive(() =>
            this.db.execProtocolRawStream(next.message, {
              onRawData: (data) => {
                bytes += data.length;
                next.onData(data);
              },
            }),
          );
        } catch (error) {
          next.reject(error);
          continue;
        }
        const type = String.fromCharCode(next.message[0] ?? 0);
        this.owner = this.db.isInTransaction() || EXTENDED_PROTOCOL.has(type) ? next.handlerId : undefined;
        next.resolve(bytes);
      }
    } finally {
      this.processing = false;
    }
  }
}

export interface SessionSocketServer {
  /** host:port */
  address: string;
  stop(): Promise<void>;
}

/** A loopback TCP server speaking the PostgreSQL wire protocol to `db`, one session for all. */
export async function serveSession(
  db: PGlite,
  { host, port, maxConnections }: { host: string; port: number; maxConnections: number },
): Promise<SessionSocketServer> {
  const queue = new SessionQueue(db);
  const handlers = new Set<PGLiteSocketHandler>();
  const server: Server = createServer((socket: Socket) => {
    if (handlers.size >= maxConnections) {
      socket.end();
      return;
    }
    const handler = new PGLiteSocketHandler({
      queryQueue: queue as unknown as PGLiteSocketHandlerOptions['queryQueue'],
      closeOnDetach: true,
    });
    handlers.add(handler);
    const forget = (): void => void handlers.delete(handler);
    handler.addEventListener('close', forget);
    handler.addEventListener('error', forget);
    handler.attach(socket).catch(() => {
      forget();
      socket.destroy();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const bound = server.address() as { port: number };
  return {
    address: `${host}:${bound.port}`,
    stop: async () => {
      for (const handler of handlers) await handler.detach(true).catch(() => undefined);
      handlers.clear();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
