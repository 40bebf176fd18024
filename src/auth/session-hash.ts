/**
 * Django's `get_session_auth_hash`: an HMAC of the user's stored password hash, kept in the session at login.
 * When the password changes (here or anywhere else), the stored hash changes, the HMAC no longer matches, and
 * every session made before the change ends at its next request.
 */
import crypto from 'node:crypto';
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

/** True when `stored` was made from `passwordHash` with any of the secrets (rotation: old ones still verify). */
export function sessionAuthHashMatches(passwordHash: string, stored: string, secrets: readonly string[]): boolean {
  let matches = false;
  // Every secret is tried, so the time taken does not tell which one matched.
  for (const secret of secrets)
    matches = timingSafeEqualStrings(sessionAuthHash(passwordHash, secret), stored) || matches;
  return matches;
}
