import { randomUUID } from 'node:crypto';

export interface Actor {
  id: string;
  roles: readonly string[];
}

/** Who asked, and the request it came from: becomes the metadata of every event recorded. */
export class CommandContext {
  readonly commandId = randomUUID();

  constructor(
    readonly actor: Actor,
    readonly correlationId: string = randomUUID(),
    readonly traceparent?: string,
    readonly tracestate?: string,
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
