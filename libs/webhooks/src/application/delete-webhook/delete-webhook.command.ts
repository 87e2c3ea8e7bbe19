import { Command } from '@nestjs/cqrs';

/** Removes an endpoint and its delivery history; nothing more is sent to it. */
export class DeleteWebhook extends Command<void> {
  constructor(readonly id: string) {
    super();
  }
}
