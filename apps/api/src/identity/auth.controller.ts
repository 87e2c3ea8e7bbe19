import { Body, Controller, Get, HttpCode, Post } from '@nestjs/common';
import { CommandBus, QueryBus } from '@nestjs/cqrs';
import { ApiCreatedResponse, ApiOkResponse, ApiTags } from '@nestjs/swagger';
import { GetCurrentUser, Login, RegisterUser } from '@emporium/identity';
import type { Actor, CommandContext } from '@emporium/domain';
import { Idempotent } from '../http/idempotency.interceptor.js';
import { CommandCtx, CurrentActor, Public } from '../auth/auth.decorators.js';
import { AuthRateLimit } from '../http/rate-limit.decorator.js';
import { ApiAuthenticated, ApiProblems } from '../http/api-docs.js';
import { AccessTokenDto, LoginDto, MeDto, RegisterDto, RegisteredDto } from './auth.dto.js';

@ApiTags('auth')
@Controller('auth')
export class AuthController {
  constructor(
    private readonly commands: CommandBus,
    private readonly queries: QueryBus,
  ) {}

  @Public()
  @AuthRateLimit()
  @Post('register')
  @Idempotent()
  @ApiCreatedResponse({ type: RegisteredDto })
  @ApiProblems([400, 'invalid input or weak password'], [409, 'email already registered'], [429, 'too many attempts'])
  async register(@Body() body: RegisterDto, @CommandCtx() ctx: CommandContext): Promise<RegisteredDto> {
    const { id } = await this.commands.execute(new RegisterUser(ctx, body.email, body.password, body.name));
    return { id };
  }

  @Public()
  @AuthRateLimit()
  @Post('login')
  @HttpCode(200)
  @ApiOkResponse({ type: AccessTokenDto })
  @ApiProblems([400, 'invalid input'], [401, 'email or password is incorrect'], [429, 'too many attempts'])
  login(@Body() body: LoginDto): Promise<AccessTokenDto> {
    return this.queries.execute(new Login(body.email, body.password));
  }

  @Get('me')
  @ApiAuthenticated()
  @ApiOkResponse({ type: MeDto })
  me(@CurrentActor() actor: Actor): Promise<MeDto> {
    return this.queries.execute(new GetCurrentUser(actor.id));
  }
}
