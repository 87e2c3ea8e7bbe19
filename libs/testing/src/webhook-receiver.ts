import { createHmac, timingSafeEqual } from 'node:crypto';
import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';

/** One request a receiver got, with whether its Standard Webhooks signature checked out. */
export interface ReceivedWebhook {
  webhookId: string;
  timestamp: number;
  verified: boolean;
  body: { id: string; type: string; occurredAt: string; data: unknown };
  /** What the receiver answered: a status, or 'hang' (no answer: the sender times out). */
  answer: number | 'hang';
  /** This request's number among those with the same webhook-id (1 for the first). */
  attempt: number;
}

/** What to answer to the `attempt`-th request of one webhook-id. */
export type Behaviour = (attempt: number, webhookId: string) => number | 'hang';

/**
 * A webhook endpoint for tests: a real HTTP server on loopback that verifies every signature
 * itself (independently of the sender's code) and answers as told.
 */
export class WebhookReceiver {
  readonly received: ReceivedWebhook[] = [];
  secret = '';
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();
  private readonly attempts = new Map<string, number>();
  url = '';
  /** Sent as `location` with a 3xx answer. */
  location = '';

  constructor(public behaviour: Behaviour = () => 200) {}

  async start(): Promise<this> {
    this.server = createServer((request, response) => void this.handle(request, response));
    this.server.on('connection', (socket) => {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
    });
    this.server.listen(0, '127.0.0.1');
    await once(this.server, 'listening');
    this.url = `http://127.0.0.1:${(this.server.address() as { port: number }).port}/hooks`;
    return this;
  }

  async stop(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    if (this.server?.listening) {
      this.server.close();
      await once(this.server, 'close');
    }
  }

  /** Requests answered 2xx, one entry per webhook-id that got one (the first such). */
  delivered(): ReceivedWebhook[] {
    const seen = new Set<string>();
    return this.received.filter((r) => {
      if (typeof r.answer !== 'number' || r.answer < 200 || r.answer >= 300 || seen.has(r.webhookId)) return false;
      seen.add(r.webhookId);
      return true;
    });
  }

  private async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    const raw = Buffer.concat(chunks).toString('utf8');
    const webhookId = String(request.headers['webhook-id'] ?? '');
    const timestamp = Number(request.headers['webhook-timestamp']);
    const attempt = (this.attempts.get(webhookId) ?? 0) + 1;
    this.attempts.set(webhookId, attempt);
    const answer = this.behaviour(attempt, webhookId);
    this.received.push({
      webhookId,
      timestamp,
      verified: this.verify(webhookId, timestamp, raw, String(request.headers['webhook-signature'] ?? '')),
      body: JSON.parse(raw) as ReceivedWebhook['body'],
      answer,
      attempt,
    });
    if (answer === 'hang') return; // the sender's timeout ends it
    response
      .writeHead(answer, { 'content-type': 'text/plain', ...(this.location ? { location: this.location } : {}) })
      .end('ok');
  }

  private verify(id: string, timestamp: number, body: string, header: string): boolean {
    if (!this.secret || !Number.isInteger(timestamp) || Math.abs(Date.now() / 1000 - timestamp) > 300) return false;
    const key = Buffer.from(this.secret.replace(/^whsec_/, ''), 'base64');
    const expected = createHmac('sha256', key).update(`${id}.${timestamp}.${body}`).digest();
    return header.split(' ').some((candidate) => {
      const [version, signature] = candidate.split(',');
      const given = Buffer.from(signature ?? '', 'base64');
      return version === 'v1' && given.length === expected.length && timingSafeEqual(given, expected);
    });
  }
}
