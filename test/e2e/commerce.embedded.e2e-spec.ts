import { poll, runToExit } from '@emporium/testing';
import { describeCommerceContract } from './contract/commerce.contract.js';

/** `npm run cli` against the running system's embedded database, with no broker. */
function cli(databaseUrl: string, ...args: string[]): Promise<{ code: number | null; output: string }> {
  return runToExit('cli', { NODE_ENV: 'test', DATABASE_URL: databaseUrl, LOG_LEVEL: 'warn' }, args);
}

/**
 * The API contract on the embedded defaults (`npm start` with nothing configured: PGlite and the
 * in-process transport, one process), plus what only this mode has: dead letters in the
 * `dead_letters` table, operated with the same CLI.
 */
describeCommerceContract('embedded', (ctx) => {
  describe('in-process transport', () => {
    it('retries an event a projection cannot apply, dead-letters it with the reason, and keeps the others flowing', async () => {
      // An order.paid for an order the orders projection has never seen: every apply fails.
      const { rows } = await ctx.db.query<{ id: string; position: string }>(
        `insert into event_log (id, type, schema_version, aggregate_type, aggregate_id, aggregate_version,
           occurred_at, payload, metadata)
         values (gen_random_uuid(), 'ordering.order.paid', 1, 'Order', gen_random_uuid(), 1, now(),
           '{"paymentId":"p-1","amountCents":500}',
           '{"actor":"test","correlationId":"c","causationId":"c"}')
         returning id, position`,
      );
      const failing = rows[0];
      // Meanwhile a real command is applied as usual.
      const product = await ctx.createProduct();
      const read = await ctx.http('GET', `/api/v1/products/${product.id}`, { headers: ctx.after(product.position) });
      expect(read.status).toBe(200);

      const letter = await poll(
        () =>
          ctx.db
            .query<{ attempts: number; error: string; type: string }>(
              `select attempts, error, type from dead_letters where projection = 'orders' and event_id = $1`,
              [failing.id],
            )
            .then((r) => r.rows[0]),
        (row) => row !== undefined,
        { what: 'the failing event in dead_letters' },
      );
      // PROJECTION_RETRY_DELAYS_MS=100,200: the first attempt and two retries.
      expect(letter).toEqual({
        attempts: 3,
        error: expect.stringMatching(/order rows are missing/),
        type: 'ordering.order.paid',
      });
      const published = await poll(
        () =>
          ctx.db
            .query<{ published: boolean }>(
              'select published_at is not null as published from event_log where id = $1',
              [failing.id],
            )
            .then((r) => r.rows[0].published),
        (done) => done,
        { what: 'the dead-lettered event to count as delivered' },
      );
      expect(published).toBe(true);
      const health = (await (await fetch(`${ctx.system.projectorUrl}/health`)).json()) as {
        details: Record<string, unknown>;
      };
      expect(health.details['dlq:orders']).toMatchObject({ status: 'up', depth: 1 });

      // The operator's view and actions, with the same CLI as for RabbitMQ.
      const listed = await cli(ctx.system.databaseUrl, 'dlq', 'list', 'orders', '--json');
      expect(listed.code).toBe(0);
      expect(JSON.parse(listed.output.trim().split('\n').pop()!)).toEqual([
        expect.objectContaining({ messageId: failing.id, type: 'ordering.order.paid', attempts: 3 }),
      ]);
      const replayed = await cli(ctx.system.databaseUrl, 'dlq', 'replay', 'orders', failing.id);
      expect(replayed.output).toContain('replayed 1');
      // Delivered again, it fails again and comes back to dead_letters.
      await poll(
        () => ctx.db.query('select 1 from dead_letters where event_id = $1', [failing.id]).then((r) => r.rowCount ?? 0),
        (n) => n === 1,
        { what: 'the replayed event back in dead_letters' },
      );
      const discarded = await cli(ctx.system.databaseUrl, 'dlq', 'discard', 'orders', failing.id);
      expect(discarded.output).toContain('discarded 1');
      expect((await ctx.db.query('select 1 from dead_letters')).rowCount).toBe(0);
      // The forged event is not part of the shop's history: remove it before the rebuild check.
      await ctx.db.query('delete from event_log where id = $1', [failing.id]);
    });
  });
});
