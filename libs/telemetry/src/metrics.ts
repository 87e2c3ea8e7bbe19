import client from 'prom-client';

/** One registry per process, served at GET /metrics in Prometheus text format. */
export const registry = new client.Registry();
client.collectDefaultMetrics({ register: registry, prefix: 'emporium_process_' });

const seconds = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];

export const httpDuration = new client.Histogram({
  name: 'emporium_http_request_duration_seconds',
  help: 'HTTP request duration by method, route template and status',
  labelNames: ['method', 'route', 'status'] as const,
  buckets: seconds,
  registers: [registry],
});

export const handlerCalls = new client.Counter({
  name: 'emporium_handler_calls_total',
  help: 'Commands and queries handled, by kind, type and outcome',
  labelNames: ['kind', 'type', 'outcome'] as const,
  registers: [registry],
});

export const handlerDuration = new client.Histogram({
  name: 'emporium_handler_duration_seconds',
  help: 'Command and query handling time, by kind and type',
  labelNames: ['kind', 'type'] as const,
  buckets: seconds,
  registers: [registry],
});

export const relayPublished = new client.Counter({
  name: 'emporium_relay_published_total',
  help: 'Events published by this process and confirmed by the broker',
  registers: [registry],
});

export const projectionApplyDuration = new client.Histogram({
  name: 'emporium_projection_apply_duration_seconds',
  help: 'Time from delivery to the event being applied (its transaction committed), by projection and outcome',
  labelNames: ['projection', 'outcome'] as const,
  buckets: seconds,
  registers: [registry],
});

export const projectionBatchSize = new client.Histogram({
  name: 'emporium_projection_batch_size',
  help: 'Deliveries applied together in one transaction (group commit), by projection',
  labelNames: ['projection'] as const,
  buckets: [1, 2, 4, 8, 16, 32, 64],
  registers: [registry],
});

export const projectionStatements = new client.Counter({
  name: 'emporium_projection_statements_total',
  help: 'Statements sent to PostgreSQL to apply deliveries (BEGIN and COMMIT included), by projection',
  labelNames: ['projection'] as const,
  registers: [registry],
});

export const deliveryOutcomes = new client.Counter({
  name: 'emporium_delivery_outcomes_total',
  help: 'Deliveries settled, by subscriber and how: acked, retried, dead-lettered',
  labelNames: ['subscriber', 'outcome'] as const,
  registers: [registry],
});

export const deliverySettleFailures = new client.Counter({
  name: 'emporium_delivery_settle_failures_total',
  help:
    'Settlements that could not reach the transport (its channel or connection had closed); the ' +
    'transport delivers such a message again and the inbox makes that a no-op',
  labelNames: ['subscriber', 'action'] as const,
  registers: [registry],
});

export const rateLimitRejections = new client.Counter({
  name: 'emporium_rate_limit_rejections_total',
  help: 'Requests refused with 429, by the limit they exceeded (default, auth-ip, auth-account) and route template',
  labelNames: ['limit', 'route'] as const,
  registers: [registry],
});

const COLLECT_TIMEOUT_MS = 2000;

export const scrapeErrors = new client.Gauge({
  name: 'emporium_metric_collection_failed',
  help: '1 when the last reading of a metric failed (its previous value is kept)',
  labelNames: ['metric'] as const,
  registers: [registry],
});

/** A gauge read at scrape time (backlog, lag, dead-letter depth). */
export function scrapedGauge<L extends string>(
  name: string,
  help: string,
  labelNames: readonly L[],
  collect: (set: (labels: Partial<Record<L, string>>, value: number) => void) => Promise<void>,
): client.Gauge<L> {
  const existing = registry.getSingleMetric(name);
  if (existing) registry.removeSingleMetric(name);
  return new client.Gauge<L>({
    name,
    help,
    labelNames,
    registers: [registry],
    async collect() {
      // Read everything first; on failure or timeout keep the last values rather than blank series
      // (dead-letter alerts must not go quiet exactly when a dependency is down).
      const readings: Array<[Partial<Record<L, string>>, number]> = [];
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error('timed out')), COLLECT_TIMEOUT_MS);
      });
      try {
        await Promise.race([collect((labels, value) => readings.push([labels, value])), timeout]);
        this.reset();
        for (const [labels, value] of readings) this.set(labels, value);
        scrapeErrors.set({ metric: name }, 0);
      } catch {
        scrapeErrors.set({ metric: name }, 1);
      } finally {
        clearTimeout(timer);
      }
    },
  });
}
