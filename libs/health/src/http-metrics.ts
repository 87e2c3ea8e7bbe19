import type { FastifyInstance } from 'fastify';
import { httpDuration } from '@emporium/telemetry';

/** Request duration by route template (bounded label cardinality), method and status. */
export function recordHttpMetrics(fastify: FastifyInstance): void {
  fastify.addHook('onResponse', async (request, reply) => {
    const route = request.routeOptions.url ?? 'unmatched';
    if (route === '/metrics') return;
    httpDuration.observe({ method: request.method, route, status: String(reply.statusCode) }, reply.elapsedTime / 1000);
  });
}
