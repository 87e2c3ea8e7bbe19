import { randomUUID } from 'node:crypto';

export interface Actor {
  id: string;
  roles: readonly string[];
}

/**
 * An Idempotency-Key claimed for this command: the unit of work records the command's result
 * under it in the command's own transaction, so "done" and "recorded as done" cannot diverge.
 */
export interface IdempotencyClaim {
  actor: string;
  key: string;
  /** Proves this request still owns the key when the command commits. */
  token: string;
  successStatus: number;
}

/** Who asked, and the request it came from: becomes the metadata of every event recorded. */
export class CommandContext {
  readonly commandId = randomUUID();

  constructor(
    readonly actor: Actor,
    readonly correlationId: string = randomUUID(),
    readonly traceparent?: string,
    readonly tracestate?: string,
    readonly idempotency?: IdempotencyClaim,
  ) {}

  static system(correlationId?: string): CommandContext {
    return new CommandContext({ id: 'system', roles: ['system'] }, correlationId);
  }

  isAdmin(): boolean {
    return this.actor.roles.includes('admin');
  }
}

/** What every command returns: the id it touched, the new version and the event-log position. */
export interface CommandResult {
  id: string;
  version: number;
  position: string;
}
