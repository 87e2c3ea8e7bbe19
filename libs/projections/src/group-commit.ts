import { context, ROOT_CONTEXT, trace, type Context, type Link } from '@opentelemetry/api';

interface Pending<T, R> {
  item: T;
  context: Context;
  resolve: (result: R) => void;
  reject: (error: unknown) => void;
}

/**
 * Group commit: items submitted in the same turn of the event loop, or while a batch is being
 * written, go together in the next one, so under load many deliveries share one transaction (one
 * BEGIN, one COMMIT, one WAL flush) while an idle system still writes each item at once, with no
 * added wait beyond that turn.
 *
 * - `all` writes a whole batch in one transaction and answers per item, in order (it may fail
 *   every item at once, for a cause that is no item's fault, such as the database being down). If it throws,
 *   nothing of the batch was kept (the transaction rolled back), and every item is written again
 *   alone with `one`, which settles it on its own: one bad item never decides another's fate.
 * - `one` runs in the submitter's context (its trace); `all` runs in a fresh context and gets a
 *   link to each submitter's span, so a batch is one trace that points at every message it carried.
 * - One batch at a time per instance; at most `maxBatch` items per batch.
 */
export class GroupCommit<T, R> {
  private readonly queue: Pending<T, R>[] = [];
  private running = false;

  constructor(
    private readonly maxBatch: number,
    private readonly all: (items: T[], links: Link[]) => Promise<Array<PromiseSettledResult<R>>>,
    private readonly one: (item: T) => Promise<R>,
  ) {}

  submit(item: T): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      this.queue.push({ item, context: context.active(), resolve, reject });
      if (this.running) return;
      // Start after the current turn of the event loop: deliveries handed over together (one
      // socket read carries several) share the first transaction instead of waiting for the next.
      this.running = true;
      setImmediate(() => void this.drain());
    });
  }

  private async drain(): Promise<void> {
    try {
      while (this.queue.length > 0) {
        const batch = this.queue.splice(0, this.maxBatch);
        if (batch.length > 1 && (await this.writeTogether(batch))) continue;
        for (const pending of batch) {
          try {
            pending.resolve(await context.with(pending.context, () => this.one(pending.item)));
          } catch (error) {
            pending.reject(error); // even a synchronous throw settles its caller, never the loop
          }
        }
      }
    } finally {
      this.running = false;
    }
  }

  /** True when the whole batch committed and every item is settled. */
  private async writeTogether(batch: Pending<T, R>[]): Promise<boolean> {
    const links = batch.flatMap((p) => {
      const spanContext = trace.getSpanContext(p.context);
      return spanContext ? [{ context: spanContext }] : [];
    });
    let results: Array<PromiseSettledResult<R>>;
    try {
      results = await context.with(ROOT_CONTEXT, () =>
        this.all(
          batch.map((p) => p.item),
          links,
        ),
      );
    } catch {
      return false;
    }
    batch.forEach((pending, i) => {
      const result = results[i];
      if (result.status === 'fulfilled') pending.resolve(result.value);
      else pending.reject(result.reason);
    });
    return true;
  }
}
