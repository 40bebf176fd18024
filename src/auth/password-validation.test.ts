/**
 * The password validators against what Django's own validators decide (test/fixtures/django-password-validation.json,
 * made by test/fixtures/make-django-password-validation.py with Django 3.2.25), plus the common-password list and
 * the maximum length.
 */
import fs from 'node:fs';
import zlib from 'node:zlib';
import { describe, expect, it } from '@jest/globals';
import { loadConfig } from '../config/index.js';
import { MAX_PASSWORD_LENGTH } from './hashers/index.js';
import { commonPasswordCount, validatePassword, type UserAttributes } from './password-validation.js';

interface Case {
  password: string;
  user: UserAttributes | null;
  codes: string[];
}
const djangoCases = JSON.parse(
  fs.readFileSync(new URL('../../test/fixtures/django-password-validation.json', import.meta.url), 'utf8'),
) as Case[];

const codes = async (password: string, user?: UserAttributes, env: Record<string, string> = {}) =>
  (await validatePassword(password, loadConfig(env).passwords, user)).map((issue) => issue.code);

describe('validatePassword', () => {
  it.each(djangoCases.map((c) => [c.password.slice(0, 24), c] as const))(
    'decides %j as Django does',
    async (_, { password, user, codes: expected }) => {
      // Django's list was run without the common-password rule, which uses another list here.
      expect(
        await codes(password, user ?? undefined, { PASSWORD_VALIDATORS: 'similarity,min_length,numeric' }),
      ).toEqual(expected);
    },
  );

  it("refuses every password of Django's own list", async () => {
    const django = zlib
      .gunzipSync(fs.readFileSync(new URL('./data/django-common-passwords.txt.gz', import.meta.url)))
      .toString('utf8')
      .split('\n')
      .filter(Boolean);
    expect(django.length).toBeGreaterThan(19_000);
    const config = loadConfig({ PASSWORD_VALIDATORS: 'common' }).passwords;
    const issues = await Promise.all(django.map((password) => validatePassword(password, config)));
    expect(django.filter((_, index) => issues[index]?.length === 0)).toEqual([]);
  });

  it('refuses common passwords whatever their case, from a list of at least 20,000', async () => {
    expect(commonPasswordCount()).toBeGreaterThanOrEqual(20_000);
    expect(await codes('computer2')).toEqual(['password_too_common']); // in Django's list, not in zxcvbn's
    expect(await codes('password')).toEqual(['password_too_common']);
    expect(await codes('PassWord')).toEqual(['password_too_common']);
    expect(await codes(' qwerty123 ')).toEqual(['password_too_common']);
    expect(await codes('12345678')).toEqual(['password_too_common', 'password_entirely_numeric']);
    expect(await codes('wonderland-42-rabbit-hole')).toEqual([]);
  });

  it('reports every failed rule, each with its own code, in the configured order', async () => {
    expect(await codes('qzxal', { username: 'qzxal' })).toEqual(['password_too_similar', 'password_too_short']);
    expect(await codes('1234', undefined, { PASSWORD_VALIDATORS: 'numeric,min_length' })).toEqual([
      'password_entirely_numeric',
      'password_too_short',
    ]);
  });

  it('honours PASSWORD_MIN_LENGTH, counting characters rather than bytes', async () => {
    expect(await codes('elevenchars', undefined, { PASSWORD_MIN_LENGTH: '12' })).toEqual(['password_too_short']);
    expect(await codes('äöüäöüäöüäöü', undefined, { PASSWORD_MIN_LENGTH: '12' })).toEqual([]);
    // Emoji are two UTF-16 units each, but one character, as in Python.
    expect(await codes('🔑🔒🔓🗝🔐🛡🚪🧱', undefined, { PASSWORD_VALIDATORS: 'min_length' })).toEqual([]);
    expect(await codes('🔑🔒🔓🗝🔐🛡🚪', undefined, { PASSWORD_VALIDATORS: 'min_length' })).toEqual([
      'password_too_short',
    ]);
  });

  it('accepts long passwords, up to the maximum, and refuses a longer one alone', async () => {
    const long = 'Correct-Horse-Battery-Staple-'.repeat(3);
    expect(long.length).toBeGreaterThanOrEqual(64);
    expect(await codes(long)).toEqual([]);
    expect(await codes('x'.repeat(MAX_PASSWORD_LENGTH))).toEqual([]);
    expect(await codes('1'.repeat(1024 * 1024), { username: '1' })).toEqual(['password_too_long']);
  });
});
