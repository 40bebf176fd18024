/**
 * Password reset tokens against the ones Django 3.2's PasswordResetTokenGenerator makes
 * (test/fixtures/django-reset-tokens.json, made by test/fixtures/make-django-reset-tokens.py).
 */
import fs from 'node:fs';
import { describe, expect, it } from '@jest/globals';
import { PasswordResetTokens, type TokenUser } from './tokens.js';

interface Vector {
  user: { id: number; password: string; lastLogin: string | null; email: string };
  now: string;
  token: string;
}
const fixture = JSON.parse(
  fs.readFileSync(new URL('../../test/fixtures/django-reset-tokens.json', import.meta.url), 'utf8'),
) as { secret: string; tokens: Vector[] };

const THREE_DAYS = 259_200;
const at = (iso: string, secrets = [fixture.secret]) =>
  new PasswordResetTokens(secrets, THREE_DAYS, { now: () => new Date(iso) });
const userOf = (vector: Vector): TokenUser => ({
  ...vector.user,
  lastLogin: vector.user.lastLogin ? new Date(vector.user.lastLogin) : null,
});

describe('PasswordResetTokens', () => {
  it.each(fixture.tokens.map((vector) => [vector.token, vector] as const))(
    'makes %s exactly as Django does',
    (_, vector) => {
      expect(at(vector.now).make(userOf(vector))).toBe(vector.token);
      expect(at(vector.now).check(userOf(vector), vector.token)).toBe(true);
    },
  );

  const [vector] = fixture.tokens;
  if (!vector) throw new Error('no vectors');
  const user = userOf(vector);
  const made = vector.now;
  const plus = (seconds: number) => new Date(Date.parse(made) + seconds * 1000).toISOString();

  it('works until PASSWORD_RESET_TIMEOUT, not a second longer', () => {
    expect(at(plus(THREE_DAYS)).check(user, vector.token)).toBe(true);
    expect(at(plus(THREE_DAYS + 1)).check(user, vector.token)).toBe(false);
  });

  it('stops working once the password changes (so it works once) or the user logs in', () => {
    expect(at(made).check({ ...user, password: `${user.password}x` }, vector.token)).toBe(false);
    expect(at(made).check({ ...user, lastLogin: new Date(made) }, vector.token)).toBe(false);
    expect(at(made).check({ ...user, email: 'other@example.com' }, vector.token)).toBe(false);
    expect(at(made).check({ ...user, id: user.id + 1 }, vector.token)).toBe(false);
  });

  it.each(['', '-', 'abc', 'dihw00', 'dihw00-', 'zzzzzzzzzzzzzz-00', 'DIHW00-abc', 'dihw00-abc-def'])(
    'refuses the malformed token %j',
    (token) => {
      expect(at(made).check(user, token)).toBe(false);
    },
  );

  it("refuses a tampered timestamp (a later one would extend the token's life)", () => {
    const [timestamp = '', hmac = ''] = vector.token.split('-');
    const later = (Number.parseInt(timestamp, 36) + 86_400).toString(36);
    expect(at(made).check(user, `${later}-${hmac}`)).toBe(false);
  });

  it('verifies with a rotated-out secret, and makes tokens with the first', () => {
    const rotated = at(made, ['a-new-secret-of-enough-length-0123456789', fixture.secret]);
    expect(rotated.check(user, vector.token)).toBe(true);
    expect(rotated.make(user)).not.toBe(vector.token);
    expect(at(made, ['a-new-secret-of-enough-length-0123456789']).check(user, vector.token)).toBe(false);
  });
});
