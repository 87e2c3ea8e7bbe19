/**
 * Every suite fails on an unhandled promise rejection, wherever it came from (a transport, the
 * relay, the runner, the test itself): in production one takes the process down.
 */
const unhandled: unknown[] = [];
const record = (reason: unknown): void => void unhandled.push(reason);

beforeAll(() => {
  process.on('unhandledRejection', record);
});

afterAll(() => {
  process.off('unhandledRejection', record);
  if (unhandled.length > 0) {
    const reasons = unhandled.map((r) => (r instanceof Error ? (r.stack ?? r.message) : String(r)));
    throw new Error(`${unhandled.length} unhandled rejection(s):\n${reasons.join('\n')}`);
  }
});
