// Open-loop load at a constant rate, for the "latency at N requests per second" figures.
//
// Why not autocannon for these: its `overallRate` lets each connection send its share of a second
// back to back and then wait for the next second, so the server sees a burst at the top of every
// second and the latencies measure that burst's queue (at 80 orders/s, p50 56 ms against 13 ms for
// one order alone). Here request i is due at start + i / rate and is sent then, whether or not
// earlier ones have answered, as independent clients would; its latency is counted from when it was
// due, so a server that falls behind is charged for the wait (no coordinated omission). autocannon
// stays for the maximum-throughput runs, which are closed-loop by design.
import { Buffer } from 'node:buffer';
import { Agent, request as httpRequest } from 'node:http';
import { performance } from 'node:perf_hooks';

/**
 * @param {object} o
 * @param {string} o.url base URL
 * @param {number} o.rate requests per second
 * @param {number} o.seconds how long requests are started
 * @param {() => { method?: string, path: string, headers?: Record<string, string>, body?: string }} o.next
 * @param {number} [o.maxSockets] concurrent connections at most (requests beyond wait, and that wait counts)
 * @param {number} [o.drainMs] how long to wait for answers after the last request was sent
 */
export async function openLoop({ url, rate, seconds, next, maxSockets = 256, drainMs = 15_000 }) {
  const { hostname, port } = new URL(url);
  const agent = new Agent({ keepAlive: true, maxSockets });
  const total = Math.round(rate * seconds);
  const latencies = [];
  let non2xx = 0;
  let errors = 0;
  let sent = 0;
  let outstanding = 0;
  let lastAnswer = 0;
  let allAnswered;
  const answered = new Promise((resolve) => (allAnswered = resolve));
  const start = performance.now();

  const send = (due) => {
    const { method = 'GET', path, headers = {}, body } = next();
    outstanding += 1;
    const done = (ok, status) => {
      const now = performance.now();
      // Only answers have a latency: a refused or reset connection fails fast and would pull the
      // percentiles down.
      if (ok) {
        latencies.push(now - due);
        lastAnswer = now;
        if (status < 200 || status >= 300) non2xx += 1;
      } else errors += 1;
      outstanding -= 1;
      if (outstanding === 0 && sent === total) allAnswered();
    };
    const req = httpRequest(
      { agent, hostname, port, method, path, headers: body ? { ...headers, 'content-length': Buffer.byteLength(body) } : headers },
      (res) => {
        res.resume();
        res.on('end', () => done(true, res.statusCode));
        res.on('error', () => done(false));
      },
    );
    req.on('error', () => done(false));
    req.end(body);
  };

  await new Promise((resolve) => {
    const tick = () => {
      const now = performance.now();
      const due = Math.min(total, Math.floor(((now - start) / 1000) * rate) + 1);
      while (sent < due) {
        send(start + (sent / rate) * 1000);
        sent += 1;
      }
      if (sent < total) setTimeout(tick, 1);
      else resolve();
    };
    tick();
  });
  const timedOut = await Promise.race([
    answered.then(() => false),
    new Promise((resolve) => setTimeout(() => resolve(true), drainMs).unref()),
  ]);
  agent.destroy();
  latencies.sort((a, b) => a - b);
  const at = (q) => (latencies.length ? Math.round(latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] * 10) / 10 : null);
  return {
    offeredPerSecond: rate,
    // Answers per second over the time it took to answer them all.
    requestsPerSecond: latencies.length ? Math.round(latencies.length / ((lastAnswer - start) / 1000)) : 0,
    p50Ms: at(0.5),
    p99Ms: at(0.99),
    maxMs: at(1),
    non2xx,
    errors,
    // Still waiting for an answer `drainMs` after the last request was sent (a server far behind).
    unanswered: timedOut ? outstanding : 0,
  };
}
