import { SetMetadata } from '@nestjs/common';

export const AUTH_ROUTE = 'emporium:auth-rate-limit';

/** Login and registration: strict limits per client address and per account (email). */
export const AuthRateLimit = (): MethodDecorator => SetMetadata(AUTH_ROUTE, true);
