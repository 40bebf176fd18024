/**
 * OWASP's device cookie ("Slow Down Online Guessing Attacks with Device Cookies"): a signed token given to a browser
 * at a successful login, which says "this account logged in here before". Login attempts that carry a valid one for
 * the account tried are counted per cookie (src/auth/lockout.ts), apart from everyone else's: an attacker who spends
 * the account's guesses does not lock its owner out of the browser the owner uses.
 *
 *   v1.<id>.<account>.<issued>.<mac>
 *
 * `id`: 16 random bytes, the cookie's own counter; `account`: a keyed hash of the normalized username (the cookie
 * names nobody); `issued`: seconds since the epoch; `mac`: HMAC-SHA256 of the rest, under a key derived from
 * SESSION_SECRET (any of its secrets verifies, the first signs).
 */
import crypto from 'node:crypto';
import type { Clock } from './clock.js';
import { timingSafeEqualStrings } from './hashers/compare.js';
import { secureRandom, type RandomSource } from './random.js';
import { normalizeUsername } from './users.js';

const VERSION = 'v1';
/** Separates this key from every other use of SESSION_SECRET. */
const PURPOSE = 'gqlauth.lockout.device-cookie';
const SHAPE = /^v1\.([A-Za-z0-9_-]{22})\.([A-Za-z0-9_-]{22})\.(\d{1,12})\.([A-Za-z0-9_-]{43})$/;

export class DeviceCookies {
  private readonly keys: readonly Buffer[];

  constructor(
    secrets: readonly string[],
    private readonly maxAgeSeconds: number,
    private readonly clock: Clock,
    private readonly random: RandomSource = secureRandom,
  ) {
    this.keys = secrets.map((secret) => crypto.createHmac('sha256', secret).update(PURPOSE).digest());
  }

  /** A new cookie value for a browser where `username` just logged in. */
  issue(username: string): string {
    const key = this.keys[0];
    if (!key) throw new Error('no secret to sign device cookies with');
    const id = this.random.bytes(16).toString('base64url');
    const issued = Math.floor(this.clock.now().getTime() / 1000);
    const body = `${VERSION}.${id}.${accountTag(key, username)}.${issued}`;
    return `${body}.${mac(key, body)}`;
  }

  /**
   * The cookie's id when `value` is a device cookie this server signed, for `username`, not older than its age;
   * otherwise undefined (a stranger's attempt).
   */
  verify(value: string, username: string): string | undefined {
    const match = SHAPE.exec(value);
    if (!match) return undefined;
    const [, id = '', account = '', issued = '', signature = ''] = match;
    const age = this.clock.now().getTime() / 1000 - Number(issued);
    if (age < 0 || age > this.maxAgeSeconds) return undefined;
    const body = `${VERSION}.${id}.${account}.${issued}`;
    const vouches = this.keys.some(
      // Compared in constant time: the MAC must not be guessable byte by byte from answer times.
      (key) =>
        timingSafeEqualStrings(mac(key, body), signature) && timingSafeEqualStrings(accountTag(key, username), account),
    );
    return vouches ? id : undefined;
  }
}

function mac(key: Buffer, body: string): string {
  return crypto.createHmac('sha256', key).update(body).digest('base64url');
}

/** The account, as the login backend matches it (NFKC): look-alike spellings of one name are one account. */
function accountTag(key: Buffer, username: string): string {
  return crypto
    .createHmac('sha256', key)
    .update(`account:${normalizeUsername(username)}`)
    .digest()
    .subarray(0, 16)
    .toString('base64url');
}
