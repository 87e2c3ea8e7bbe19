import { MikroORM } from '@mikro-orm/postgresql';
import { QueryHandler, type IQueryHandler } from '@nestjs/cqrs';
import { readDb, type ReadDb } from '@emporium/database';
import { Instrumented } from '@emporium/telemetry';
import { UserNotFound } from '../../domain/user.errors.js';
import { GetCurrentUser, type UserView } from './get-current-user.query.js';

@QueryHandler(GetCurrentUser)
export class GetCurrentUserHandler implements IQueryHandler<GetCurrentUser> {
  private readonly db: ReadDb;

  constructor(orm: MikroORM) {
    this.db = readDb(orm);
  }

  @Instrumented('query')
  async execute({ userId }: GetCurrentUser): Promise<UserView> {
    const user = await this.db
      .selectFrom('users')
      .select(['id', 'email', 'name', 'roles'])
      .where('id', '=', userId)
      .executeTakeFirst();
    if (!user) throw new UserNotFound();
    return user;
  }
}
