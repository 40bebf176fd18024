/**
 * Django's `get_session_auth_hash`: an HMAC of the user's stored password hash, kept in the session at login.
 * When the password changes (here or anywhere else), the stored hash changes, the HMAC no longer matches, and
 * every session made before the change ends at its next request.
 */
import crypto from 'node:crypto';
import { LRUCache } from 'lru-cache';
import { timingSafeEqualStrings } from './hashers/compare.js';

const KEY_SALT = 'django.contrib.auth.models.AbstractBaseUser.get_session_auth_hash';

/** Derived keys by secret: every authenticated request needs one, and deriving it (and wrapping it as a KeyObject,
 * which HMAC would otherwise do again from the bytes on each call) costs more than the HMAC itself. */
const keys = new Map<string, crypto.KeyObject>();

/** Django's `salted_hmac(KEY_SALT, passwordHash, secret, algorithm='sha256').hexdigest()`. */
export function sessionAuthHash(passwordHash: string, secret: string): string {
  let key = keys.get(secret);
  if (!key) {
    key = crypto.createSecretKey(crypto.hash('sha256', KEY_SALT + secret, 'buffer'));
    keys.set(secret, key);
  }
  return crypto.createHmac('sha256', key).update(passwordHash).digest('hex');
}

/**
 * The auth hashes of recent requests' users, by secret and password hash: a user's hash is the same on each of their
 * requests until the password changes (and then the key changes with it). Bounded: a few MiB at most.
 */
const recent = new LRUCache<string, string>({ max: 10_000 });

/** True when `stored` was made from `passwordHash` with any of the secrets (rotation: old ones still verify). */
export function sessionAuthHashMatches(passwordHash: string, stored: string, secrets: readonly string[]): boolean {
  let matches = false;
  // Every secret is tried, so the time taken does not tell which one matched.
  for (const secret of secrets) {
    const key = `${secret}\n${passwordHash}`;
    let expected = recent.get(key);
    if (expected === undefined) recent.set(key, (expected = sessionAuthHash(passwordHash, secret)));
    // Still compared in constant time: what is cached is what would be computed, the comparison is unchanged.
    matches = timingSafeEqualStrings(expected, stored) || matches;
  }
  return matches;
}
