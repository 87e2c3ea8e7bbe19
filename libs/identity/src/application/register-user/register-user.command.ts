import { Command } from '@nestjs/cqrs';
import type { CommandContext, CommandResult } from '@emporium/domain';
import type { Role } from '../../domain/user.entity.js';

export class RegisterUser extends Command<CommandResult> {
  constructor(
    readonly context: CommandContext,
    readonly email: string,
    readonly password: string,
    readonly name: string,
    readonly roles: Role[] = ['customer'],
  ) {
    super();
  }
}
