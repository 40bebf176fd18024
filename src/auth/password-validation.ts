/**
 * Password validators, Django's four (`django.contrib.auth.password_validation`) plus a maximum length, and an
 * app's own (which may be asynchronous): every rule that fails is reported, each with Django's own code, so clients
 * can show them all at once. Run before a password is set by a person (registration, password change and reset,
 * the admin API, createsuperuser, changepassword); `createUser` itself does not run them, as in Django.
 */
import fs from 'node:fs';
import zlib from 'node:zlib';
import { dictionary } from '@zxcvbn-ts/language-common';
import type { PasswordSettings, PasswordValidatorName } from '../config/index.js';
import { loadedExport } from './extensions.js';
import { ValidationError, type ValidationIssue } from './errors.js';
import { MAX_PASSWORD_LENGTH } from './hashers/index.js';
import { codePoints } from './text.js';

/** What the similarity rule compares the password with (Django's DEFAULT_USER_ATTRIBUTES). */
export interface UserAttributes {
  username?: string | null;
  firstName?: string | null;
  lastName?: string | null;
  email?: string | null;
}

const ATTRIBUTE_NAMES: Record<keyof UserAttributes, string> = {
  username: 'username',
  firstName: 'first name',
  lastName: 'last name',
  email: 'email address',
};

/** Django's default `max_similarity`. */
const MAX_SIMILARITY = 0.7;

const DJANGO_LIST = new URL('./data/django-common-passwords.txt.gz', import.meta.url);

let commonPasswords: ReadonlySet<string> | undefined;
/**
 * Django's own list (19,726 passwords, so that whatever Django refused is refused here too) and zxcvbn-ts's
 * (@zxcvbn-ts/language-common, 49,233), lower-cased, loaded on first use. See data/README.md.
 */
function common(): ReadonlySet<string> {
  if (!commonPasswords) {
    const django = zlib.gunzipSync(fs.readFileSync(DJANGO_LIST)).toString('utf8').split('\n');
    commonPasswords = new Set(
      [...django, ...dictionary['passwords-common']].map((entry) => entry.toLowerCase().trim()).filter(Boolean),
    );
  }
  return commonPasswords;
}

/** Python's `difflib.SequenceMatcher(a, b).quick_ratio()`: an upper bound of the similarity, from shared letters. */
function quickRatio(a: string, b: string): number {
  const counts = new Map<string, number>();
  for (const char of b) counts.set(char, (counts.get(char) ?? 0) + 1);
  let matches = 0;
  for (const char of a) {
    const left = counts.get(char) ?? 0;
    if (left > 0) {
      matches++;
      counts.set(char, left - 1);
    }
  }
  const total = a.length + b.length;
  return total === 0 ? 1 : (2 * matches) / total;
}

/** Django's `exceeds_maximum_length_ratio`: a password far longer than the value cannot be "too similar". */
function exceedsMaximumLengthRatio(password: string, value: string): boolean {
  return password.length >= 10 * value.length && value.length < (MAX_SIMILARITY / 2) * password.length;
}

type Validator = (
  password: string,
  user: UserAttributes | undefined,
  config: PasswordSettings,
) => ValidationIssue | null;

/**
 * A validator of an app's own (PASSWORD_VALIDATORS=./validators/mine.js, docs/extending.md): the rule the password
 * breaks, with a stable code, or null (undefined too). Or, as Django's, a thrown ValidationError listing them. It
 * may be asynchronous (a breached-password service, a directory): it is awaited before anything is hashed or
 * stored. Any other error it throws fails the operation: the password is not set.
 */
export interface PasswordValidator {
  validate(
    password: string,
    user?: UserAttributes,
  ): ValidationIssue | null | undefined | Promise<ValidationIssue | null | undefined>;
}

const validators: Record<PasswordValidatorName, Validator> = {
  similarity(password, user) {
    if (!user) return null;
    const lowered = password.toLowerCase();
    for (const key of Object.keys(ATTRIBUTE_NAMES) as (keyof UserAttributes)[]) {
      const value = user[key];
      if (!value) continue;
      const valueLower = value.toLowerCase();
      // The whole value and its parts: "alice.smith@example.com" also checks "alice", "smith", "example".
      for (const part of [...valueLower.split(/[^\p{L}\p{N}_]+/u), valueLower]) {
        if (exceedsMaximumLengthRatio(lowered, part)) continue;
        if (quickRatio(lowered, part) >= MAX_SIMILARITY) {
          return {
            code: 'password_too_similar',
            message: `The password is too similar to the ${ATTRIBUTE_NAMES[key]}.`,
            field: 'password',
          };
        }
      }
    }
    return null;
  },
  min_length(password, _user, config) {
    if (codePoints(password) >= config.minLength) return null;
    return {
      code: 'password_too_short',
      message: `This password is too short. It must contain at least ${config.minLength} characters.`,
      field: 'password',
    };
  },
  common(password) {
    if (!common().has(password.toLowerCase().trim())) return null;
    return { code: 'password_too_common', message: 'This password is too common.', field: 'password' };
  },
  numeric(password) {
    if (!/^\p{Nd}+$/u.test(password)) return null;
    return { code: 'password_entirely_numeric', message: 'This password is entirely numeric.', field: 'password' };
  },
};

/**
 * Every rule the password breaks, in the configured order; empty when it is acceptable. The validators run at
 * once and are all awaited; one that throws anything but a ValidationError makes this reject.
 */
export async function validatePassword(
  password: string,
  config: PasswordSettings,
  user?: UserAttributes,
): Promise<ValidationIssue[]> {
  // Checked first and alone: a megabyte-long password is refused before any other work is spent on it.
  if (password.length > MAX_PASSWORD_LENGTH) {
    return [
      {
        code: 'password_too_long',
        message: `This password is too long. It must contain at most ${MAX_PASSWORD_LENGTH} characters.`,
        field: 'password',
      },
    ];
  }
  const issues = await Promise.all(
    config.validators.map(async (entry): Promise<readonly ValidationIssue[]> => {
      try {
        const issue =
          typeof entry === 'string'
            ? validators[entry](password, user, config)
            : await (loadedExport('PASSWORD_VALIDATORS', entry) as PasswordValidator).validate(password, user);
        return issue ? [issue] : [];
      } catch (error) {
        // Django's validate_password gathers the ValidationErrors of all validators; anything else is a failure.
        if (error instanceof ValidationError) return error.issues;
        throw error;
      }
    }),
  );
  return issues.flat();
}

/** The size of the common-password list (for documentation and tests). */
export function commonPasswordCount(): number {
  return common().size;
}
