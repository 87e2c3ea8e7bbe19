import { poll } from './poll.js';

export interface SseEvent {
  id?: string;
  event: string;
  data: string;
}

/**
 * A small server-sent-events client over fetch's streaming body, parsed as the EventSource
 * specification says (fields per line, a blank line ends an event, `:` lines are comments). It
 * keeps everything it received, so a test can assert on order, gaps and repeats.
 */
export class SseClient {
  readonly events: SseEvent[] = [];
  readonly comments: string[] = [];
  retry: number | undefined;
  /** Resolves when the server ends the stream (or it is closed). */
  readonly ended: Promise<void>;
  private readonly abort = new AbortController();
  private finished = false;

  private constructor(
    readonly status: number,
    readonly headers: Headers,
    private readonly response: Response,
  ) {
    this.ended = status === 200 ? this.read() : Promise.resolve();
  }

  /** Opens `url`; a non-200 answer is kept (status, `problem()`), not thrown. */
  static async open(url: string, headers: Record<string, string> = {}): Promise<SseClient> {
    const abort = new AbortController();
    const response = await fetch(url, { headers: { accept: 'text/event-stream', ...headers }, signal: abort.signal });
    const client = new SseClient(response.status, response.headers, response);
    client.abort.signal.addEventListener('abort', () => abort.abort());
    return client;
  }

  get done(): boolean {
    return this.finished;
  }

  /** The last event id received, as EventSource would send it in Last-Event-ID. */
  get lastEventId(): string | undefined {
    return [...this.events].reverse().find((e) => e.id !== undefined)?.id;
  }

  /** The answer's problem document, for a stream that was refused. */
  async problem(): Promise<{ status: number; code: string; detail: string }> {
    return (await this.response.json()) as { status: number; code: string; detail: string };
  }

  close(): void {
    this.abort.abort();
  }

  /** The events received so far, JSON-parsed, with their id and type. */
  changes(): Array<{ id?: string; event: string; data: Record<string, unknown> }> {
    return this.events.map((e) => ({ id: e.id, event: e.event, data: JSON.parse(e.data) as Record<string, unknown> }));
  }

  async waitFor<T>(
    probe: (client: SseClient) => T,
    accept: (value: T) => boolean,
    what: string,
    timeoutMs = 15_000,
  ): Promise<T> {
    return poll(() => Promise.resolve(probe(this)), accept, { what, timeoutMs });
  }

  private async read(): Promise<void> {
    const reader = this.response.body!.getReader();
    const decoder = new TextDecoder();
    let buffer = '';
    let current: { id?: string; event?: string; data: string[] } = { data: [] };
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        buffer += decoder.decode(value, { stream: true });
        let newline: number;
        while ((newline = buffer.search(/\r\n|\n|\r/)) >= 0) {
          const line = buffer.slice(0, newline);
          buffer = buffer.slice(newline + (buffer.startsWith('\r\n', newline) ? 2 : 1));
          if (line === '') {
            if (current.data.length > 0) {
              this.events.push({ id: current.id, event: current.event ?? 'message', data: current.data.join('\n') });
            }
            current = { data: [] };
            continue;
          }
          if (line.startsWith(':')) {
            this.comments.push(line.slice(1).trim());
            continue;
          }
          const colon = line.indexOf(':');
          const field = colon < 0 ? line : line.slice(0, colon);
          const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
          if (field === 'id') current.id = value;
          else if (field === 'event') current.event = value;
          else if (field === 'data') current.data.push(value);
          else if (field === 'retry' && /^\d+$/.test(value)) this.retry = Number(value);
        }
      }
    } catch {
      // aborted by close(), or the connection was cut
    } finally {
      this.finished = true;
    }
  }
}
