/**
 * Password reset tokens (Django's PasswordResetTokenGenerator): `<timestamp in base 36>-<HMAC>`, where the HMAC
 * covers the user's id, password hash, last login, the timestamp and e-mail. No table: a token stops working when
 * it is used (the password hash changes), when the user logs in (last_login changes), or after the timeout.
 * Tokens made here are the ones Django makes for the same user, secret and time.
 */
import crypto from 'node:crypto';
import type { Clock } from './clock.js';
import { timingSafeEqualStrings } from './hashers/compare.js';

const KEY_SALT = 'django.contrib.auth.tokens.PasswordResetTokenGenerator';
/** Django counts seconds from 2001-01-01 (base 36, six digits until about 2069). */
const EPOCH_2001 = Date.UTC(2001, 0, 1);
/** A timestamp of more than 13 base-36 digits is not one Django could have made (base36_to_int refuses them). */
const TIMESTAMP = /^[0-9a-z]{1,13}$/;

/** What the token is bound to. */
export interface TokenUser {
  id: number;
  /** The stored hash: a new password, even the same one, changes it and so voids the token. */
  password: string;
  lastLogin: Date | null;
  email: string;
}

export class PasswordResetTokens {
  /**
   * `secrets`: the first makes tokens, all verify (rotation). `timeoutSeconds`: Django's PASSWORD_RESET_TIMEOUT.
   */
  constructor(
    private readonly secrets: readonly string[],
    private readonly timeoutSeconds: number,
    private readonly clock: Clock,
  ) {}

  make(user: TokenUser): string {
    return this.withTimestamp(user, this.seconds(this.clock.now()), this.secrets[0] ?? '');
  }

  check(user: TokenUser, token: string): boolean {
    const [timestamp, hmac, ...rest] = token.split('-');
    if (!timestamp || !hmac || rest.length > 0 || !TIMESTAMP.test(timestamp)) return false;
    const ts = Number.parseInt(timestamp, 36);
    let matches = false;
    // Every secret is tried, so the time taken does not tell which one matched.
    for (const secret of this.secrets)
      matches = timingSafeEqualStrings(this.withTimestamp(user, ts, secret), token) || matches;
    return matches && this.seconds(this.clock.now()) - ts <= this.timeoutSeconds;
  }

  private withTimestamp(user: TokenUser, timestamp: number, secret: string): string {
    const key = crypto
      .createHash('sha256')
      .update(KEY_SALT + secret)
      .digest();
    const digest = crypto.createHmac('sha256', key).update(hashValue(user, timestamp)).digest('hex');
    // Every other character, as Django does to shorten the URL.
    const short = digest.replace(/(.)./g, '$1');
    return `${timestamp.toString(36)}-${short}`;
  }

  private seconds(date: Date): number {
    return Math.floor((date.getTime() - EPOCH_2001) / 1000);
  }
}

/** Django's `_make_hash_value`: id, hash, last login (to the second, as a naive UTC datetime), timestamp, e-mail. */
function hashValue(user: TokenUser, timestamp: number): string {
  const lastLogin = user.lastLogin ? user.lastLogin.toISOString().slice(0, 19).replace('T', ' ') : '';
  return `${user.id}${user.password}${lastLogin}${timestamp}${user.email}`;
}
