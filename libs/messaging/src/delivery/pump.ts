/**
 * A loop that runs `work` until it reports nothing left, one run at a time: wake-ups that arrive
 * during a run (a commit, a NOTIFY, a sweep) make it run once more instead of starting a second
 * one. A failed run goes to `onError` and ends; the next wake-up starts again. The relay and the
 * in-process event-log transport are both driven by one.
 */
export class Pump {
  private running: Promise<void> | undefined;
  private again = false;
  private stopped = false;

  constructor(
    /** One pass; resolves true when there may be more to do right away. */
    private readonly work: () => Promise<boolean>,
    private readonly onError: (error: unknown) => Promise<void> | void,
  ) {}

  tick(): void {
    if (this.stopped) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = this.loop().finally(() => {
      this.running = undefined;
      if (this.again && !this.stopped) this.tick();
    });
  }

  /** Allows ticks again after stop(). */
  resume(): void {
    this.stopped = false;
  }

  /** No more runs; resolves when the one in progress has ended. */
  async stop(): Promise<void> {
    this.stopped = true;
    await this.running;
  }

  private async loop(): Promise<void> {
    try {
      for (;;) {
        this.again = false;
        if (this.stopped) return;
        const more = await this.work();
        if (!more && !this.again) return;
      }
    } catch (error) {
      this.again = false;
      try {
        await this.onError(error);
      } catch {
        /* onError must not throw; nothing more to do if it does */
      }
    }
  }
}
