/**
 * Recovery codes: ten one-time codes for when the authenticator is lost, shown once when made, kept as keyed hashes
 * (HMAC-SHA256 under SECRET_ENCRYPTION_KEYS, secret-box.ts). Not argon2: a code carries 50 random bits, beyond any
 * guessing a slow hash would guard, and a try compares against all ten of the user's codes: ten argon2 runs per
 * guess would hand anyone with a password a lever on the server's CPU.
 */
import type { EntityManager } from '@mikro-orm/postgresql';
import { run, selectAll } from '../db/sql.js';
import type { Clock } from './clock.js';
import { randomString, secureRandom, type RandomSource } from './random.js';
import type { SecretBox } from './secret-box.js';

export const RECOVERY_CODE_COUNT = 10;
/** Crockford-like base32 without look-alikes: 10 characters, 50 bits, shown as two groups of five. */
const ALPHABET = 'abcdefghjkmnpqrstuvwxyz23456789';
const LENGTH = 10;

export class RecoveryCodes {
  constructor(
    private readonly box: SecretBox,
    private readonly clock: Clock,
    private readonly random: RandomSource = secureRandom,
  ) {}

  /**
   * New codes for the user, replacing every one they had (used or not): answered once, never stored in clear. In one
   * transaction (a savepoint within the caller's), the user's row locked: never a user left with no codes, and of two
   * regenerations at once, one set of ten, not twenty of which ten were never seen.
   */
  async regenerate(em: EntityManager, userId: number): Promise<string[]> {
    const codes = Array.from({ length: RECOVERY_CODE_COUNT }, () => {
      const code = randomString(LENGTH, this.random, ALPHABET);
      return `${code.slice(0, 5)}-${code.slice(5)}`;
    });
    await em.transactional(async (tx) => {
      await selectAll(tx, 'SELECT id FROM auth_user WHERE id = ? FOR UPDATE', [userId]);
      await this.remove(tx, userId);
      await run(
        tx,
        `INSERT INTO gqlauth_recovery_code (user_id, code_hash)
         SELECT ?, h FROM jsonb_array_elements_text(?::jsonb) AS t(h)`,
        [userId, JSON.stringify(codes.map((code) => this.box.hash(normalized(code))))],
      );
    });
    return codes;
  }

  /** How many of the user's codes are left unused. */
  async remaining(em: EntityManager, userId: number): Promise<number> {
    const [row] = await selectAll<{ n: number }>(
      em,
      'SELECT count(*)::int AS n FROM gqlauth_recovery_code WHERE user_id = ? AND used_at IS NULL',
      [userId],
    );
    return row?.n ?? 0;
  }

  /** Whether `code` is one of the user's unused codes: it is then used up. */
  async use(em: EntityManager, userId: number, code: string): Promise<boolean> {
    const typed = normalized(code);
    const rows = await selectAll<{ id: number; code_hash: string }>(
      em,
      'SELECT id, code_hash FROM gqlauth_recovery_code WHERE user_id = ? AND used_at IS NULL',
      [userId],
    );
    // Every code is compared, in constant time, whichever matches: the time does not tell which one did.
    let found: number | undefined;
    for (const row of rows) if (this.box.hashMatches(typed, row.code_hash)) found ??= row.id;
    if (found === undefined) return false;
    // Once only, also when two requests race with one code: only the UPDATE that finds it unused passes.
    return (
      (await run(em, 'UPDATE gqlauth_recovery_code SET used_at = ? WHERE id = ? AND used_at IS NULL', [
        this.clock.now(),
        found,
      ])) > 0
    );
  }

  async remove(em: EntityManager, userId: number): Promise<number> {
    return run(em, 'DELETE FROM gqlauth_recovery_code WHERE user_id = ?', [userId]);
  }
}

/** A code as typed (upper case, spaces, with or without its dash) as it was hashed. */
function normalized(code: string): string {
  return code.toLowerCase().replace(/[^a-z0-9]/g, '');
}
