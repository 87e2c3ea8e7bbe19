import { once } from 'node:events';
import { createServer, type Server, type ServerResponse } from 'node:http';
import { connect, type AddressInfo, type Socket } from 'node:net';
import type { StreamMessage } from '@emporium/ordering';
import { poll } from '@emporium/testing';
import { formatMessage, SseWriter } from './sse-writer.js';

const change = (position: number, padding = ''): StreamMessage => ({
  kind: 'change',
  change: {
    txId: String(position),
    position: String(position),
    type: 'ordering.order.paid',
    orderId: `00000000-0000-4000-8000-${padding.padEnd(12, '0').slice(0, 12)}`,
    customerId: null,
    status: 'paid',
    version: 2,
    occurredAt: '2026-12-02T00:00:00.000Z',
  },
});

/** SseWriter on a real socket: the wire format, backpressure, and what happens to a client that stops reading. */
describe('SseWriter', () => {
  let server: Server;
  let responses: ServerResponse[];
  let sockets: Socket[];

  beforeEach(async () => {
    responses = [];
    sockets = [];
    server = createServer((_request, response) => {
      response.writeHead(200, { 'content-type': 'text/event-stream' });
      responses.push(response);
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
  });

  afterEach(async () => {
    for (const socket of sockets) socket.destroy();
    server.closeAllConnections();
    server.close();
    await once(server, 'close');
  });

  const client = async (): Promise<{ socket: Socket; response: ServerResponse }> => {
    const socket = connect((server.address() as AddressInfo).port, '127.0.0.1');
    sockets.push(socket);
    await once(socket, 'connect');
    // HTTP/1.0: no chunked encoding, so the body arrives exactly as written.
    socket.write('GET / HTTP/1.0\r\n\r\n');
    while (responses.length < sockets.length) await new Promise((resolve) => setImmediate(resolve));
    return { socket, response: responses[responses.length - 1] };
  };

  it('writes id, event and data, one event per blank line', () => {
    expect(formatMessage(change(42))).toBe(
      'id: 42\nevent: ordering.order.paid\ndata: {"orderId":"00000000-0000-4000-8000-000000000000",' +
        '"status":"paid","version":2,"position":"42","occurredAt":"2026-12-02T00:00:00.000Z"}\n\n',
    );
    expect(formatMessage({ kind: 'reset', reason: 'too-old', position: '7' })).toBe(
      'id: 7\nevent: reset\ndata: {"reason":"too-old","position":"7"}\n\n',
    );
  });

  it('drops a client that stops reading once its queue is full, instead of buffering without bound', async () => {
    const { socket, response } = await client();
    socket.pause(); // reads nothing: the kernel buffers fill, then the writer's queue
    const writer = new SseWriter(response, { queueLimit: 50, heartbeatMs: 60_000 });
    let sent = 0;
    while (!writer.ended && sent < 1_000_000) {
      writer.send(change(++sent, 'x'));
      if (writer.congested) await new Promise((resolve) => setImmediate(resolve));
    }
    expect(writer.ended).toBe(true);
    // What the socket buffers plus at most the queue: bounded, however much was offered.
    expect(response.writableLength).toBeLessThan(1024 * 1024);
  });

  it('waits for a slow client that keeps reading, and loses nothing', async () => {
    const { socket, response } = await client();
    let received = '';
    socket.on('data', (chunk: Buffer) => (received += chunk.toString()));
    socket.pause();
    const writer = new SseWriter(response, { queueLimit: 10, heartbeatMs: 60_000 });
    const total = 5000;
    let congestedOnce = false;
    for (let i = 1; i <= total; i++) {
      writer.send(change(i));
      if (writer.congested) {
        congestedOnce = true;
        socket.resume(); // the client starts reading only once the server had to wait
        await writer.drained(); // as the replay does
      }
    }
    expect(congestedOnce).toBe(true);
    expect(writer.ended).toBe(false);
    writer.end('shutdown');
    await once(socket, 'end');
    const ids = [...received.matchAll(/^id: (\d+)$/gm)].map((m) => Number(m[1]));
    expect(ids).toEqual(Array.from({ length: total }, (_, i) => i + 1));
  });

  it('sends a keep-alive comment while idle', async () => {
    const { socket, response } = await client();
    let received = '';
    socket.on('data', (chunk: Buffer) => (received += chunk.toString()));
    const writer = new SseWriter(response, { queueLimit: 10, heartbeatMs: 20 });
    await poll(async () => received.includes(': keep-alive\n\n'), Boolean, { what: 'a heartbeat' });
    writer.end('shutdown');
  });
});
