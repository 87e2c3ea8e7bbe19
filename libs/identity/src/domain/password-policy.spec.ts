import { assertStrongPassword, WeakPassword } from './password-policy.js';

const who = { email: 'jane.doe@example.com', name: 'Jane Doe' };

describe('password policy', () => {
  it.each([
    'short-pass',
    'qwerty123456',
    '1q2w3e4r5t6y',
    'password1234!',
    'aaaaaaaaaaaaaaaa',
    'Jane.Doe-secret-99',
    'x'.repeat(129),
  ])('refuses %p', (password) => {
    expect(() => assertStrongPassword(password, who)).toThrow(WeakPassword);
  });

  it.each(['correct horse battery staple', 'mauve-otter-41-lantern', 'Tr0ub4dor&3-plus-more'])(
    'accepts %p',
    (password) => {
      expect(() => assertStrongPassword(password, who)).not.toThrow();
    },
  );
});
