import { createHash, randomBytes } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { MikroORM } from '@mikro-orm/postgresql';
import { AppConfig } from '@emporium/config';
import { readDb } from '@emporium/database';
import { sql } from 'kysely';
import type { Actor } from '@emporium/domain';

const hash = (ticket: string): string => createHash('sha256').update(ticket).digest('hex');

/**
 * Short-lived, single-use tickets for the live order stream, for clients that cannot send an
 * Authorization header (a browser's EventSource). A ticket is 256 random bits bound to the user
 * who asked for it; the database keeps only its hash, so any api replica redeems it and a
 * leaked table row is no credential. Redeeming deletes it in the same statement, so it works
 * once even if two replicas race for it.
 */
@Injectable()
export class StreamTickets {
  constructor(
    private readonly orm: MikroORM,
    private readonly config: AppConfig,
  ) {}

  async issue(actor: Actor): Promise<{ ticket: string; expiresIn: number }> {
    const ticket = randomBytes(32).toString('base64url');
    const expiresIn = this.config.orderStream.ticketTtlSeconds;
    // Expired tickets are swept by whoever issues the next one.
    await sql`with expired as (delete from order_stream_tickets where expires_at < now())
       insert into order_stream_tickets (ticket_hash, user_id, roles, expires_at)
       values (${hash(ticket)}, ${actor.id}, ${[...actor.roles]}::text[], now() + make_interval(secs => ${expiresIn}::int))`.execute(
      readDb(this.orm),
    );
    return { ticket, expiresIn };
  }

  /** The user the ticket was issued to; undefined if it is unknown, used or expired. */
  async redeem(ticket: string): Promise<Actor | undefined> {
    const { rows } = await sql<{ user_id: string; roles: string[]; valid: boolean }>`
      delete from order_stream_tickets where ticket_hash = ${hash(ticket)}
      returning user_id, roles, expires_at > now() as valid`.execute(readDb(this.orm));
    const row = rows[0];
    return row?.valid ? { id: row.user_id, roles: row.roles } : undefined;
  }
}
