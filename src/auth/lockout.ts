/**
 * Brute-force lockout, with django-axes' semantics: failed attempts are counted per username and client address
 * together (or per username, or per address: LOCKOUT_BY); after LOCKOUT_LIMIT failures the next attempt is refused
 * for LOCKOUT_COOLOFF seconds, before any password is hashed, even with the right password; a success clears the
 * count. The counters live in PostgreSQL, or in Redis with SESSION_STORE=redis (rate-limiter-flexible), so every
 * server process sees the same ones.
 *
 *   const wait = await lockout.begin('login', source);   // counted now; > 0: refuse, check nothing
 *   ... check the password ...
 *   await (ok ? lockout.succeeded('login', source) : lockout.failed('login', source));
 *
 * Every attempt is counted before it is checked, atomically: of many parallel attempts, at most LOCKOUT_LIMIT get
 * their password checked (a check-then-count would let every request in flight through).
 */
import crypto from 'node:crypto';
import { isIPv6 } from 'node:net';
import type { RateLimiterAbstract } from 'rate-limiter-flexible';
import type { LockoutConfig } from '../config/index.js';
import { normalizeUsername } from './users.js';

/** What is being guessed: a login's password, the old password of a change, or a reset link's token. */
export type GuardedAction = 'login' | 'change_password' | 'reset_password';

export interface AttemptSource {
  /** The username tried (for a reset, the link's uid). */
  readonly username: string;
  /** The client's address, as far as TRUST_PROXY lets X-Forwarded-For say (Express's req.ip). */
  readonly ip: string;
}

/** The counters' store failed: the attempt is refused (SERVICE_UNAVAILABLE), never let through uncounted. */
export class LockoutStoreError extends Error {
  constructor(cause: unknown) {
    super('the lockout counters are unavailable', { cause });
    this.name = 'LockoutStoreError';
  }
}

export class Lockout {
  /**
   * `limiter` undefined: the lockout is off (LOCKOUT_LIMIT=0). `keySecret` keys the HMAC that names each counter,
   * so that the store holds neither usernames nor addresses, nor anything a dictionary could turn back into them.
   */
  constructor(
    private readonly limiter: RateLimiterAbstract | undefined,
    private readonly config: LockoutConfig,
    private readonly keySecret: string,
  ) {}

  /** Counts this attempt; answers the seconds to wait when `source` is locked out of `action` (0: go on). */
  async begin(action: GuardedAction, source: AttemptSource): Promise<number> {
    const { limiter } = this;
    if (!limiter) return 0;
    const counted = await stored(() => limiter.penalty(this.key(action, source), 1));
    if (counted.consumedPoints <= this.config.limit) return 0;
    return Math.max(1, Math.ceil(counted.msBeforeNext / 1000));
  }

  /** The attempt failed: the one that reaches the limit starts the cool-off (from this, the last failure). */
  async failed(action: GuardedAction, source: AttemptSource): Promise<void> {
    const { limiter } = this;
    if (!limiter) return;
    const key = this.key(action, source);
    const counted = await stored(() => limiter.get(key));
    if (counted && counted.consumedPoints >= this.config.limit)
      await stored(() => limiter.block(key, this.config.cooloffSeconds));
  }

  /**
   * The attempt succeeded: the count starts again. Not when counting by address alone: there, logging in to one's
   * own account between guesses at others' would wipe the guesses (django-axes does not reset on success at all).
   */
  async succeeded(action: GuardedAction, source: AttemptSource): Promise<void> {
    const { limiter } = this;
    if (!limiter || this.config.by === 'ip') return;
    await stored(() => limiter.delete(this.key(action, source)));
  }

  private key(action: GuardedAction, { username, ip }: AttemptSource): string {
    // The username NFKC-normalized as the login backend does: look-alike spellings of one name share a counter.
    const name = normalizeUsername(username);
    const address = addressKey(ip);
    const parts =
      this.config.by === 'ip'
        ? ['ip', address]
        : this.config.by === 'username'
          ? ['username', name]
          : ['both', name, address];
    const mac = crypto
      .createHmac('sha256', this.keySecret)
      .update(JSON.stringify([action, ...parts]))
      .digest('hex');
    return `${action}:${mac}`;
  }
}

/**
 * The part of an address that names one client: all of an IPv4 address; an IPv6 address's /64, since one client
 * commonly holds a whole /64 and could otherwise take a fresh counter for every guess.
 */
export function addressKey(ip: string): string {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip);
  if (mapped?.[1]) return mapped[1];
  if (!isIPv6(ip)) return ip;
  const [head = '', tail] = ip.toLowerCase().split('::');
  const headGroups = head ? head.split(':') : [];
  const tailGroups = tail ? tail.split(':') : [];
  const groups =
    tail === undefined
      ? headGroups
      : [...headGroups, ...Array<string>(8 - headGroups.length - tailGroups.length).fill('0'), ...tailGroups];
  return `${groups
    .slice(0, 4)
    .map((group) => group.replace(/^0+(?=.)/, ''))
    .join(':')}::/64`;
}

async function stored<T>(call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    throw new LockoutStoreError(error);
  }
}
