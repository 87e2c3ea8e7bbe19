/**
 * Nest's shutdown hooks drain the app on SIGTERM/SIGINT (readiness turns 503, the server stops
 * accepting and finishes in-flight requests, consumers are cancelled and finish their messages,
 * the relay stops after its batch). This bounds the whole of it: if anything hangs, the process
 * still exits before the orchestrator's grace period ends. Traces are flushed last.
 */
export function exitWithin(graceMs: number): void {
  const onSignal = (): void => {
    setTimeout(() => {
      process.stderr.write(`shutdown did not finish within ${graceMs} ms; exiting\n`);
      process.exit(1);
    }, graceMs).unref();
  };
  process.once('SIGTERM', onSignal);
  process.once('SIGINT', onSignal);
}

declare global {
  var __emporiumOtelShutdown: (() => Promise<void>) | undefined;
}
