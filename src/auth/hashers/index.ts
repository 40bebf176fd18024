/**
 * Password hashing with Django's semantics (`django.contrib.auth.hashers`): an ordered list of hashers, the first
 * preferred for new hashes, every one able to verify; hashes in Django's own formats; upgrade on login through
 * `mustUpdate`; and no timing difference between a missing user, an unusable password and a wrong one.
 */
import pLimit, { type LimitFunction } from 'p-limit';
import { randomString, secureRandom, type RandomSource } from '../random.js';
import type { PasswordHasher } from './hasher.js';

export type { CustomPasswordHasher, PasswordHasher } from './hasher.js';
export { Argon2Hasher, OWASP_ARGON2 } from './argon2.js';
export { BcryptHasher } from './bcrypt.js';
export { Pbkdf2Hasher, DJANGO_PBKDF2_ITERATIONS } from './pbkdf2.js';
export { ScryptHasher } from './scrypt.js';

/** Django's marker for a password that never verifies (`set_unusable_password`). */
export const UNUSABLE_PASSWORD_PREFIX = '!';

/**
 * Longest password accepted. Checked before any hashing: hashing a megabyte-long password costs real CPU
 * (PBKDF2 hashes the whole password on every iteration), a cheap denial of service.
 */
export const MAX_PASSWORD_LENGTH = 4096;

export interface VerifyResult {
  /** The password matches. */
  valid: boolean;
  /** The hash should be rewritten with the preferred hasher (only meaningful when `valid`). */
  mustUpdate: boolean;
}

export class PasswordTooLongError extends Error {
  constructor() {
    super(`passwords are limited to ${MAX_PASSWORD_LENGTH} characters`);
    this.name = 'PasswordTooLongError';
  }
}

export class PasswordHashers {
  readonly preferred: PasswordHasher;
  private readonly byAlgorithm: ReadonlyMap<string, PasswordHasher>;

  /** Runs one hash when a slot is free (PASSWORD_HASHING_CONCURRENCY slots); the others wait their turn. */
  private readonly slot: LimitFunction;

  constructor(
    readonly hashers: readonly PasswordHasher[],
    private readonly random: RandomSource = secureRandom,
    concurrency = Number.POSITIVE_INFINITY,
  ) {
    const [preferred] = hashers;
    if (!preferred) throw new Error('PASSWORD_HASHERS is empty: at least one hasher is required');
    this.preferred = preferred;
    this.byAlgorithm = new Map(hashers.map((hasher) => [hasher.algorithm, hasher]));
    // A hash holds a core for tens of milliseconds (in libuv's threads: the event loop itself never hashes). With a
    // hash running on every core, a burst of logins would starve the event loop and every other request with it.
    this.slot = pLimit(concurrency);
  }

  /** Django's `make_password`: a hash by the preferred hasher, or an unusable password when there is none. */
  async make(password: string | null | undefined): Promise<string> {
    if (password === null || password === undefined) return this.makeUnusable();
    if (password.length > MAX_PASSWORD_LENGTH) throw new PasswordTooLongError();
    return this.slot(() => this.preferred.encode(password));
  }

  /** `!` and 40 random characters, as Django's `make_password(None)`: never verifies, and cannot be guessed. */
  makeUnusable(): string {
    return UNUSABLE_PASSWORD_PREFIX + randomString(40, this.random);
  }

  isUsable(encoded: string | null | undefined): encoded is string {
    return typeof encoded === 'string' && !encoded.startsWith(UNUSABLE_PASSWORD_PREFIX);
  }

  /** The hasher that made `encoded`, if it is one of ours. */
  identify(encoded: string): PasswordHasher | undefined {
    const end = encoded.indexOf('$');
    return end > 0 ? this.byAlgorithm.get(encoded.slice(0, end)) : undefined;
  }

  /**
   * Django's `verify_password`. Every outcome costs about one run of the preferred hasher:
   * - an unusable, unknown, malformed or out-of-bounds hash runs the preferred hasher anyway (Django returns at
   *   once, which tells an attacker that the account has no usable password);
   * - a password over MAX_PASSWORD_LENGTH is not checked, but the preferred hasher runs on its first
   *   MAX_PASSWORD_LENGTH characters, so that the answer takes as long as for a user who does not exist;
   * - a failed check against a weaker hash of the preferred algorithm is padded (`hardenRuntime`).
   */
  async verify(password: string, encoded: string | null | undefined): Promise<VerifyResult> {
    const hasher = this.isUsable(encoded) ? this.identify(encoded) : undefined;
    if (!hasher || !encoded || !hasher.recognizes(encoded) || password.length > MAX_PASSWORD_LENGTH) {
      await this.runDummy(password);
      return { valid: false, mustUpdate: false };
    }
    const hasherChanged = hasher !== this.preferred;
    const mustUpdate = hasherChanged || this.preferred.mustUpdate(encoded);
    // One slot for the check and its padding: waiting in the queue twice would itself be a timing difference.
    const valid = await this.slot(async () => {
      const matches = await hasher.verify(password, encoded);
      if (!matches && !hasherChanged && mustUpdate) await hasher.hardenRuntime(password, encoded);
      return matches;
    });
    return { valid, mustUpdate };
  }

  /**
   * One run of the preferred hasher whose result is thrown away: what checking a password costs, spent when
   * there is nothing to check, so that timing does not tell whether a user exists (Django #20760).
   */
  async runDummy(password: string): Promise<void> {
    await this.slot(() => this.preferred.encode(password.slice(0, MAX_PASSWORD_LENGTH)));
  }
}
