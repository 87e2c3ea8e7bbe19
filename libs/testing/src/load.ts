import { setTimeout as delay } from 'node:timers/promises';
import { httpClient, type HttpResponse, type RequestOptions } from './http.js';

/** An answer the system must never give: a 5xx other than a 503 with `Retry-After`. */
export interface ServerFault {
  /** What the suite was doing (the fault being injected, or checked). */
  phase: string;
  method: string;
  path: string;
  status: number;
  code?: string;
  detail?: string;
}

/** Where a suite was in the log when it last looked (see AnswerLog.since). */
export interface AnswerMark {
  serverErrors: number;
  unavailable: number;
}

const ID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/gi;

/**
 * Every HTTP answer a suite received, so that "never a 500" holds over the whole run and not
 * only for the requests a test happens to look at. A 503 is allowed (the client retries it) but
 * must say when to come back (`Retry-After`); one without it counts as a server error.
 */
export class AnswerLog {
  phase = 'setup';
  readonly serverErrors: ServerFault[] = [];
  /** 503 answers (each one with a Retry-After, or it is in serverErrors too). */
  unavailable = 0;

  record(method: string, path: string, response: HttpResponse): void {
    const route = path.replace(ID, ':id');
    const problem = (typeof response.body === 'object' && response.body !== null ? response.body : {}) as {
      code?: unknown;
      detail?: unknown;
    };
    const fault = {
      phase: this.phase,
      method,
      path: route,
      status: response.status,
      code: typeof problem.code === 'string' ? problem.code : undefined,
      detail: typeof problem.detail === 'string' ? problem.detail : undefined,
    };
    if (response.status === 503) {
      this.unavailable += 1;
      if (!response.headers.get('retry-after')) {
        this.serverErrors.push({ ...fault, detail: `503 without a Retry-After header: ${fault.detail ?? ''}` });
      }
    } else if (response.status >= 500) {
      this.serverErrors.push(fault);
    }
  }

  mark(): AnswerMark {
    return { serverErrors: this.serverErrors.length, unavailable: this.unavailable };
  }

  since(mark: AnswerMark): { serverErrors: ServerFault[]; unavailable: number } {
    return {
      serverErrors: this.serverErrors.slice(mark.serverErrors),
      unavailable: this.unavailable - mark.unavailable,
    };
  }
}

/** httpClient against whatever `baseUrl()` says now, with every answer recorded in `log`. */
export function recordingClient(baseUrl: () => string, log: AnswerLog) {
  return async function request(method: string, path: string, options: RequestOptions = {}): Promise<HttpResponse> {
    const response = await httpClient(baseUrl())(method, path, options);
    log.record(method, path, response);
    return response;
  };
}

/**
 * Not an answer to act on: the request may or may not have run, so the client asks again with
 * the same key (a server error, unavailable, rate-limited, timed out, or the first request with
 * this key is still running).
 */
export function isRetryable(response: HttpResponse): boolean {
  return (
    response.status >= 500 ||
    response.status === 429 ||
    response.status === 408 ||
    (response.status === 409 &&
      (response.body as { code?: string } | undefined)?.code === 'idempotency-key-in-progress')
  );
}

export interface OrderLoadOptions {
  /** Read on every attempt: the api may be replaced while the load runs. */
  apiUrl: () => string;
  tokens: string[];
  products: string[];
  log: AnswerLog;
  workers?: number;
  /** A command with no final answer after this long is given up on (and listed in `unanswered`). */
  giveUpAfterMs?: number;
  /** One attempt's limit: an api that stopped answering is asked again (same key). */
  attemptTimeoutMs?: number;
}

export interface AcknowledgedCommand {
  kind: 'place' | 'pay' | 'cancel';
  orderId: string;
}

/**
 * Concurrent customers that place orders and pay or cancel two thirds of them, as a shop's
 * clients do: every command carries an `Idempotency-Key` and is retried with the same key (and
 * body) until an api answers something final, so a lost connection, a crashed api or a 503 never
 * places an order twice. `acknowledged` holds what the system confirmed (201/200).
 */
export class OrderLoad {
  readonly acknowledged = new Map<string, AcknowledgedCommand>();
  /** Commands that never got a final answer before the deadline: each one is a failure. */
  readonly unanswered: string[] = [];
  /** Final answers other than success (e.g. a 409 for a cancel of an order no longer placed). */
  readonly refused: string[] = [];
  /** HTTP requests sent and not yet answered (or failed). */
  requestsInFlight = 0;
  private running = false;
  private workers: Array<Promise<void>> = [];
  private sequence = 0;
  private readonly nonce = Math.random().toString(36).slice(2, 8);

  constructor(private readonly options: OrderLoadOptions) {}

  get isRunning(): boolean {
    return this.running;
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.workers = Array.from({ length: this.options.workers ?? 16 }, (_, n) => this.worker(n));
  }

  /** No new commands; the ones under way are retried until they get their final answer. */
  async stop(): Promise<void> {
    this.running = false;
    await Promise.all(this.workers);
    this.workers = [];
  }

  private async worker(n: number): Promise<void> {
    const { tokens, products } = this.options;
    while (this.running) {
      const i = this.sequence++;
      const token = tokens[n % tokens.length];
      const key = `${this.nonce}-${i}`;
      const placed = await this.command('/api/v1/orders', token, `place-${key}`, {
        lines: [{ productId: products[i % products.length], quantity: 1 + (i % 2) }],
      });
      if (placed?.status !== 201) continue;
      const orderId = placed.body.id as string;
      this.acknowledged.set(`place-${key}`, { kind: 'place', orderId });
      const next = i % 3 === 0 ? 'pay' : i % 3 === 1 ? 'cancel' : undefined;
      if (!next) continue;
      const changed = await this.command(`/api/v1/orders/${orderId}/${next}`, token, `${next}-${key}`, {});
      if (changed?.status === 200) this.acknowledged.set(`${next}-${key}`, { kind: next, orderId });
    }
  }

  private async command(path: string, token: string, key: string, body: unknown): Promise<HttpResponse | undefined> {
    const deadline = Date.now() + (this.options.giveUpAfterMs ?? 90_000);
    for (;;) {
      let response: HttpResponse | undefined;
      let failure = '';
      this.requestsInFlight += 1;
      try {
        response = await httpClient(this.options.apiUrl())('POST', path, {
          token,
          body,
          headers: { 'idempotency-key': key },
          signal: AbortSignal.timeout(this.options.attemptTimeoutMs ?? 15_000),
        });
      } catch (error) {
        failure = (error as Error).message; // no api there, connection reset, or no answer in time
      } finally {
        this.requestsInFlight -= 1;
      }
      if (response) {
        this.options.log.record('POST', path, response);
        if (!isRetryable(response)) {
          if (response.status >= 300) this.refused.push(`${key}: ${response.status} ${JSON.stringify(response.body)}`);
          return response;
        }
      }
      if (Date.now() > deadline) {
        this.unanswered.push(`${key} (POST ${path}): last ${response ? String(response.status) : failure}`);
        return undefined;
      }
      await delay(response?.status === 503 ? 100 : 50); // a client's pause between attempts
    }
  }
}
