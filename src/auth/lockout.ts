/**
 * Brute-force lockout, with django-axes' semantics: failed attempts are counted per username and client address
 * together (or per username, or per address: LOCKOUT_BY); after LOCKOUT_LIMIT failures the next attempt is refused
 * for LOCKOUT_COOLOFF seconds, before any password is hashed, even with the right password; a success clears the
 * count. The counters live in PostgreSQL, or in Redis with SESSION_STORE=redis (rate-limiter-flexible), so every
 * server process sees the same ones.
 *
 * "No" is a value here too: `secondsLocked` answers how long to wait (0: go on).
 */
import crypto from 'node:crypto';
import type { RateLimiterAbstract } from 'rate-limiter-flexible';
import type { LockoutConfig } from '../config/index.js';
import { normalizeUsername } from './users.js';

/** What is being guessed: a login's password, or the old password of a change, or a reset link's token. */
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
  /** `limiter` undefined: the lockout is off (LOCKOUT_LIMIT=0). */
  constructor(
    private readonly limiter: RateLimiterAbstract | undefined,
    private readonly config: LockoutConfig,
  ) {}

  /** Seconds until `source` may try `action` again; 0 when it may now. */
  async secondsLocked(action: GuardedAction, source: AttemptSource): Promise<number> {
    const { limiter } = this;
    if (!limiter) return 0;
    const counted = await stored(() => limiter.get(this.key(action, source)));
    if (!counted || counted.consumedPoints < this.config.limit) return 0;
    return Math.max(1, Math.ceil(counted.msBeforeNext / 1000));
  }

  /** Counts a failed attempt; the one that reaches the limit starts the cool-off. */
  async failed(action: GuardedAction, source: AttemptSource): Promise<void> {
    const { limiter } = this;
    if (!limiter) return;
    const key = this.key(action, source);
    const counted = await stored(() => limiter.penalty(key, 1));
    // The cool-off runs from the failure that reached the limit (django-axes), not from the first of the window.
    if (counted.consumedPoints >= this.config.limit) await stored(() => limiter.block(key, this.config.cooloffSeconds));
  }

  /** A success clears the count. */
  async succeeded(action: GuardedAction, source: AttemptSource): Promise<void> {
    const { limiter } = this;
    if (!limiter) return;
    await stored(() => limiter.delete(this.key(action, source)));
  }

  /**
   * The counter's key: hashed, so that the store holds no username or address, and of fixed length whatever the
   * username's. The username is NFKC-normalized as the login backend does, so that look-alike spellings of one
   * name share one counter.
   */
  private key(action: GuardedAction, { username, ip }: AttemptSource): string {
    const parts =
      this.config.by === 'ip'
        ? ['ip', ip]
        : this.config.by === 'username'
          ? ['username', normalizeUsername(username)]
          : ['username_ip', normalizeUsername(username), ip];
    return `${action}:${crypto.createHash('sha256').update(JSON.stringify(parts)).digest('hex')}`;
  }
}

async function stored<T>(call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    throw new LockoutStoreError(error);
  }
}
