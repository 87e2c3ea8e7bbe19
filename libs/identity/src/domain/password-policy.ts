import { dictionary } from '@zxcvbn-ts/language-common';
import { DomainError } from '@emporium/domain';

export const PASSWORD_MIN_LENGTH = 12;
export const PASSWORD_MAX_LENGTH = 128;

// ~49,000 passwords seen most often in breaches (the zxcvbn-ts common list), ranked by frequency.
const COMMON = new Map<string, number>(dictionary['passwords-common'].map((p, rank) => [p, rank]));

export class WeakPassword extends DomainError {
  readonly kind = 'invalid';
  readonly code = 'weak-password';
}

/**
 * At least 12 characters, at most 128 (scrypt cost stays bounded), and not a common password,
 * nor a very common one with digits or symbols stuck on the end ("password1234!").
 */
export function assertStrongPassword(password: string, identity: { email: string; name: string }): void {
  const length = [...password].length;
  if (length < PASSWORD_MIN_LENGTH)
    throw new WeakPassword(`password must be at least ${PASSWORD_MIN_LENGTH} characters`);
  if (length > PASSWORD_MAX_LENGTH)
    throw new WeakPassword(`password must be at most ${PASSWORD_MAX_LENGTH} characters`);
  const lower = password.toLowerCase();
  const stem = lower.replace(/[\d\W_]+$/u, '');
  const stemRank = COMMON.get(stem);
  if (COMMON.has(lower) || (stem.length >= 4 && stemRank !== undefined && stemRank < 10_000)) {
    throw new WeakPassword('password is too common: choose one that is not on lists of breached passwords');
  }
  if (new Set(lower).size < 4) throw new WeakPassword('password repeats too few different characters');
  const local = identity.email.toLowerCase().split('@')[0];
  if ((local.length >= 4 && lower.includes(local)) || lower === identity.name.toLowerCase()) {
    throw new WeakPassword('password must not contain your email or name');
  }
}
