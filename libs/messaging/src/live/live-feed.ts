/**
 * "Events of these types may have been committed": how a process that serves live updates learns
 * of changes made anywhere in the deployment, without polling. A signal carries the event's
 * position when the transport knows it. It is a doorbell, not the data: the receiver reads what
 * is new from `event_log` in its own gap-safe order, so a lost or duplicated signal costs latency
 * at most (docs/adr/0019-live-order-updates.md).
 */
export interface LiveFeed {
  /** False while signals cannot arrive (broker down); readers then rely on their sweep. */
  readonly connected: boolean;
  /** Starts listening for events whose type matches `topic` (an AMQP topic pattern). */
  start(topic: string, signal: (position: string | undefined) => void): Promise<void>;
  close(): Promise<void>;
}
