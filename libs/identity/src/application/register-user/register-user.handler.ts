import { CommandHandler, type ICommandHandler } from '@nestjs/cqrs';
import { isUniqueViolation } from '@emporium/database';
import { UnitOfWork, type CommandResult } from '@emporium/domain';
import { PasswordHasher } from '../../domain/password-hasher.js';
import { assertStrongPassword } from '../../domain/password-policy.js';
import { User } from '../../domain/user.entity.js';
import { EmailTaken } from '../../domain/user.errors.js';
import { RegisterUser } from './register-user.command.js';
import { Instrumented } from '@emporium/telemetry';

@CommandHandler(RegisterUser)
export class RegisterUserHandler implements ICommandHandler<RegisterUser> {
  constructor(
    private readonly uow: UnitOfWork,
    private readonly hasher: PasswordHasher,
  ) {}

  @Instrumented('command')
  async execute({ context, email, password, name, roles }: RegisterUser): Promise<CommandResult> {
    assertStrongPassword(password, { email, name });
    const passwordHash = await this.hasher.hash(password);
    try {
      return await this.uow.execute(
        context,
        async () => new User({ id: crypto.randomUUID(), email, name, passwordHash, roles }),
      );
    } catch (error) {
      if (isUniqueViolation(error, 'users_email_key')) throw new EmailTaken();
      throw error;
    }
  }
}
