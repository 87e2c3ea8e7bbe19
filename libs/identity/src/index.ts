import { User } from './domain/user.entity.js';

export { User, type Role } from './domain/user.entity.js';
export * from './domain/user.errors.js';
export { PasswordHasher } from './domain/password-hasher.js';
export {
  assertStrongPassword,
  PASSWORD_MAX_LENGTH,
  PASSWORD_MIN_LENGTH,
  WeakPassword,
} from './domain/password-policy.js';
export { RegisterUser } from './application/register-user/register-user.command.js';
export { Login, type AccessToken } from './application/login/login.query.js';
export { GetCurrentUser, type UserView } from './application/get-current-user/get-current-user.query.js';
export { IdentityModule } from './identity.module.js';

export const identityEntities = [User];
