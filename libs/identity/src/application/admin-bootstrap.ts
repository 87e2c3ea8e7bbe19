import { Injectable, Logger, type OnApplicationBootstrap } from '@nestjs/common';
import { MikroORM } from '@mikro-orm/postgresql';
import { sql } from 'kysely';
import { CommandBus } from '@nestjs/cqrs';
import { AppConfig } from '@emporium/config';
import { CommandContext } from '@emporium/domain';
import { RegisterUser } from './register-user/register-user.command.js';
import { EmailTaken } from '../domain/user.errors.js';

/** Creates the admin named by ADMIN_EMAIL/ADMIN_PASSWORD once; later starts leave it alone. */
@Injectable()
export class AdminBootstrap implements OnApplicationBootstrap {
  private readonly logger = new Logger(AdminBootstrap.name);

  constructor(
    private readonly config: AppConfig,
    private readonly commands: CommandBus,
    private readonly orm: MikroORM,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    const admin = this.config.admin;
    if (!admin) return;
    try {
      await this.commands.execute(
        new RegisterUser(CommandContext.system(), admin.email, admin.password, 'Administrator', ['admin']),
      );
      this.logger.log(`created the bootstrap admin ${admin.email}`);
    } catch (error) {
      if (!(error instanceof EmailTaken)) throw error;
      const { rows } = await sql<{
        roles: string[];
      }>`select roles from users where email = ${admin.email.toLowerCase()}`.execute(this.orm.em.fork().getKysely());
      if (!rows[0]?.roles.includes('admin')) {
        this.logger.error(
          `ADMIN_EMAIL ${admin.email} belongs to an account without the admin role; no admin was created`,
        );
      }
    }
  }
}
