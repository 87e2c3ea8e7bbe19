import { MikroORM } from '@mikro-orm/postgresql';
import { QueryHandler, type IQueryHandler } from '@nestjs/cqrs';
import { sql } from 'kysely';
import { UserNotFound } from '../../domain/user.errors.js';
import { GetCurrentUser, type UserView } from './get-current-user.query.js';
import { Instrumented } from '@emporium/telemetry';

@QueryHandler(GetCurrentUser)
export class GetCurrentUserHandler implements IQueryHandler<GetCurrentUser> {
  constructor(private readonly orm: MikroORM) {}

  @Instrumented('query')
  async execute({ userId }: GetCurrentUser): Promise<UserView> {
    const { rows } = await sql<UserView>`select id, email, name, roles from users where id = ${userId}`.execute(
      this.orm.em.fork().getKysely(),
    );
    if (!rows[0]) throw new UserNotFound();
    return rows[0];
  }
}
