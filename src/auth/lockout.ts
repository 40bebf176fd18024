/**
 * Password guessing, held back before any password is hashed, with counters in PostgreSQL or Redis (with
 * SESSION_STORE=redis, through rate-limiter-flexible) so that every server process sees the same ones:
 *
 * 1. django-axes' lockout, per action: failed attempts are counted per username and client address together (or per
 *    username, or per address: LOCKOUT_BY); after LOCKOUT_LIMIT failures the next attempt is refused for
 *    LOCKOUT_COOLOFF seconds, even with the right password; a success clears the count. A login is counted under
 *    the account its name reaches (login-names.ts), so that the username and the address share one count.
 * 2. Per account, whatever the addresses (ASVS 2.2.1): at most LOCKOUT_ACCOUNT_LIMIT failed logins (and, apart,
 *    wrong old passwords) per LOCKOUT_ACCOUNT_WINDOW from browsers the account does not know. A browser where it
 *    logged in before carries a device cookie (src/auth/device-cookie.ts): its attempts are counted per cookie
 *    (LOCKOUT_LIMIT per LOCKOUT_COOLOFF), and all the account's cookies together on a count of their own
 *    (LOCKOUT_ACCOUNT_LIMIT), instead of 1. and 2., so whoever spends the account's guesses does not lock its owner
 *    out of the owner's browser. A cookie with LOCKOUT_LIMIT failures is a stranger's again until its cool-off ends.
 * 3. Per address, whatever the accounts: at most CREDENTIAL_RATE_LIMIT credential checks per CREDENTIAL_RATE_WINDOW
 *    (logins, registrations, password changes, reset links; successes too), and CREDENTIAL_CONCURRENCY of them at
 *    once (the others wait for a place): each costs a password hash, tens of milliseconds of CPU by design, and
 *    one address asking for them without end, or many at once, slows every other user's login.
 * 4. Password reset e-mails: at most PASSWORD_RESET_EMAIL_LIMIT per account and PASSWORD_RESET_ADDRESS_LIMIT
 *    requests per address per PASSWORD_RESET_WINDOW, so that nobody fills a mailbox (or the mail relay's quota).
 * 5. Second-factor codes (`second_factor`), counted apart from passwords: besides 1. and 2. under their own keys, at
 *    most LOCKOUT_SECOND_FACTOR_LIMIT wrong codes in a row per account from browsers it does not know, then none for
 *    LOCKOUT_SECOND_FACTOR_WINDOW; a browser with the account's device cookie is counted per cookie, as for logins.
 *
 *   const admission = await lockout.begin('login', source);   // place taken; refused: check nothing
 *   if (!admission.admitted) throw new LockedOut(admission.retryAfterSeconds);
 *   ... check the password ...
 *   await (ok ? admission.attempt.succeeded() : admission.attempt.failed());
 *
 * Only failures count, and checks in flight hold a place: of many parallel attempts, at most LOCKOUT_LIMIT are
 * checked at once (a check-then-count would let every request in flight through), and one that finds the places
 * held by checks still running waits for them (MAX_WAIT_MS in all) rather than being refused: a user's own
 * parallel logins with the right password all get in. An attempt that ends in an error of ours is `abandoned`:
 * its places are given back.
 */
import crypto from 'node:crypto';
import { isIPv6 } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import type { RateLimiterAbstract } from 'rate-limiter-flexible';
import type { LockoutSettings } from '../config/index.js';
import type { DeviceCookies } from './device-cookie.js';
import { normalizeUsername } from './users.js';

/**
 * What is being guessed: a login's password, the old password of a change, a reset link's token, or a second
 * factor's code (counted apart from passwords: knowing the password buys no guesses at the code).
 */
export type GuardedAction = 'login' | 'change_password' | 'reset_password' | 'second_factor';

export interface AttemptSource {
  /** The username tried (for a reset, the link's uid). */
  readonly username: string;
  /**
   * For a login: the login names of the accounts whose passwords `username` reaches (src/auth/login-names.ts), each
   * counted, so that an account's username and address share one count. Asked only once the address's rate lets the
   * attempt in (a flood from one address costs no lookup). Absent, or none: `username` is counted as typed.
   */
  readonly accounts?: (() => Promise<readonly string[]>) | undefined;
  /** The client's address, as far as TRUST_PROXY lets X-Forwarded-For say (Express's req.ip). */
  readonly ip: string;
  /** For a login: the device cookie the browser sent, if any (whether it vouches for `username` is checked here). */
  readonly deviceCookie?: string | undefined;
}

/**
 * The name an attempt is counted under, so that every spelling that reaches one account shares its counters: NFKC-
 * normalized as the model backend reads a username (look-alike spellings of one name), and upper-cased when it is an
 * address, as the e-mail backend matches one (`upper(email) = upper(?)`). Without the second, each capitalization of
 * an address would be a fresh counter: unlimited guesses at an account through the e-mail backend.
 */
function countedName(typed: string): string {
  const name = normalizeUsername(typed);
  return name.includes('@') ? name.toUpperCase() : name;
}

/** The counters' store failed: the attempt is refused (SERVICE_UNAVAILABLE), never let through uncounted. */
export class LockoutStoreError extends Error {
  constructor(cause: unknown) {
    super('the lockout counters are unavailable', { cause });
    this.name = 'LockoutStoreError';
  }
}

/**
 * Gives `points` back to `key` of `limiter` without ever going below 0 and without making a key that has expired:
 * a give-back that lands after its window ended must not start the next window in credit (rate-limiter-flexible's
 * `reward` would, at -1, letting one more check in each time).
 */
export type GiveBack = (limiter: RateLimiterAbstract, key: string, points: number) => Promise<void>;

/** Each counter's store; undefined: that counter is off (its limit is 0). */
export interface LockoutLimiters {
  /** 1., and the device cookies' own counts: LOCKOUT_LIMIT points per LOCKOUT_COOLOFF. */
  readonly attempts?: RateLimiterAbstract | undefined;
  /** 2.: LOCKOUT_ACCOUNT_LIMIT points per LOCKOUT_ACCOUNT_WINDOW (strangers' attempts, and devices' apart). */
  readonly account?: RateLimiterAbstract | undefined;
  /** 3.: CREDENTIAL_RATE_LIMIT points per CREDENTIAL_RATE_WINDOW. */
  readonly address?: RateLimiterAbstract | undefined;
  /** 5.: LOCKOUT_SECOND_FACTOR_LIMIT points per LOCKOUT_SECOND_FACTOR_WINDOW (strangers' wrong codes, per account). */
  readonly secondFactor?: RateLimiterAbstract | undefined;
  /** 3.: CREDENTIAL_CONCURRENCY places (held only while a check runs). */
  readonly addressInFlight?: RateLimiterAbstract | undefined;
  /** 4.: PASSWORD_RESET_EMAIL_LIMIT points per PASSWORD_RESET_WINDOW. */
  readonly resetEmail?: RateLimiterAbstract | undefined;
  /** 4.: PASSWORD_RESET_ADDRESS_LIMIT points per PASSWORD_RESET_WINDOW. */
  readonly resetAddress?: RateLimiterAbstract | undefined;
  /** The store's own give-back; by default `reward` (enough for an in-memory limiter, whose keys do not outlive it). */
  readonly giveBack?: GiveBack;
}

export type Admission =
  | { readonly admitted: true; readonly attempt: Attempt }
  | { readonly admitted: false; readonly retryAfterSeconds: number };

/** How long an attempt waits, in all, for checks in flight to end before it is refused (with a wait of one second). */
const MAX_WAIT_MS = 3000;
/** How soon a waiting attempt looks again, doubled at each look up to MAX_WAIT_STEP_MS (plus up to as much at random). */
const WAIT_STEP_MS = 10;
const MAX_WAIT_STEP_MS = 160;

/**
 * One count of failures that leaves room for checks in flight: an attempt takes a place before it is checked; a
 * failure keeps it, a success gives it back. The failures alone are counted beside (key `:failed`): they, not the
 * places, decide whether the key is locked, and the one that reaches the limit locks for `lockSeconds` from then.
 * Without `lockSeconds`, only places: at most `limit` checks at once, each place given back however it ended.
 */
class Quota {
  constructor(
    private readonly limiter: RateLimiterAbstract,
    private readonly limit: number,
    private readonly giveBack: GiveBack,
    private readonly lockSeconds?: number,
  ) {}

  /** Takes a place for one check before `deadline`: 0, or the seconds to wait (locked, or no place freed in time). */
  async take(key: string, deadline: number): Promise<number> {
    for (let round = 0; ; round++) {
      const counted = await stored(() => this.limiter.penalty(key, 1));
      const locked = this.lockSeconds === undefined ? 0 : await this.lockedFor(key);
      if (counted.consumedPoints <= this.limit && locked === 0) return 0;
      await this.release(key);
      if (locked > 0) return locked;
      // The places are held by checks still running, not by failures: once they end, a place may be free. Looked
      // at less and less often (each look is two or three statements), and at random, so that waiters do not move
      // in step.
      if (performance.now() >= deadline) return 1;
      await sleep(Math.min(WAIT_STEP_MS * 2 ** round, MAX_WAIT_STEP_MS) * (1 + Math.random()));
    }
  }

  /** The check failed: the place stays taken; the failure that reaches the limit locks, from now. */
  async fail(key: string): Promise<void> {
    const { lockSeconds } = this;
    if (lockSeconds === undefined) return this.release(key);
    const failures = await stored(() => this.limiter.penalty(failuresOf(key), 1));
    if (failures.consumedPoints >= this.limit) await stored(() => this.limiter.block(failuresOf(key), lockSeconds));
  }

  /** The seconds the key stays locked: 0 when it is not. */
  private async lockedFor(key: string): Promise<number> {
    const failures = await stored(() => this.limiter.get(failuresOf(key)));
    return failures && failures.consumedPoints >= this.limit ? seconds(failures.msBeforeNext) : 0;
  }

  /** The place is given back: the check succeeded (a success is no guess), or it never ran. */
  async release(key: string): Promise<void> {
    await stored(() => this.giveBack(this.limiter, key, 1));
  }

  /**
   * The count starts again: this attempt's place and the failures' places are given back, and the failures
   * forgotten. Only what they held: places that checks still running hold stay taken.
   */
  async clear(key: string): Promise<void> {
    const failures = this.lockSeconds === undefined ? null : await stored(() => this.limiter.get(failuresOf(key)));
    if (failures) await stored(() => this.limiter.delete(failuresOf(key)));
    // A lock's count is limit + 1 (rate-limiter-flexible's block): the places never held more than `limit` failures.
    const held = Math.min(failures?.consumedPoints ?? 0, this.limit);
    await stored(() => this.giveBack(this.limiter, key, 1 + held));
  }
}

interface Place {
  readonly quota: Quota;
  readonly key: string;
  /** After a success: start the count again, or only give the place back. */
  readonly onSuccess: 'clear' | 'release';
}

/** One admitted attempt: say how it ended, once (`failed`, `succeeded`, or `abandoned` when it could not tell). */
export class Attempt {
  private ended = false;

  constructor(private readonly places: readonly Place[]) {}

  async failed(): Promise<void> {
    if (this.end()) for (const { quota, key } of this.places) await quota.fail(key);
  }

  async succeeded(): Promise<void> {
    if (this.end())
      for (const { quota, key, onSuccess } of this.places)
        await (onSuccess === 'clear' ? quota.clear(key) : quota.release(key));
  }

  /**
   * The attempt ended without an answer (the database or the session store failed): its places are given back, so
   * that a failure of ours neither locks anyone out nor holds the address's place until the window ends.
   */
  async abandoned(): Promise<void> {
    if (this.end()) for (const { quota, key } of this.places) await quota.release(key);
  }

  private end(): boolean {
    const first = !this.ended;
    this.ended = true;
    return first;
  }
}

export class Lockout {
  private readonly attempts: Quota | undefined;
  private readonly account: Quota | undefined;
  private readonly secondFactor: Quota | undefined;
  private readonly inFlight: Quota | undefined;

  /**
   * `keySecret` keys the HMAC that names each counter, so that the store holds neither usernames nor addresses, nor
   * anything a dictionary could turn back into them. `devices` undefined: no device cookies (nor the account count
   * they make safe).
   */
  constructor(
    private readonly limiters: LockoutLimiters,
    private readonly config: LockoutSettings,
    private readonly keySecret: string,
    private readonly devices?: DeviceCookies,
  ) {
    const giveBack: GiveBack =
      limiters.giveBack ??
      (async (limiter, key, points) => {
        await limiter.reward(key, points);
      });
    this.attempts = limiters.attempts && new Quota(limiters.attempts, config.limit, giveBack, config.cooloffSeconds);
    this.account =
      limiters.account &&
      devices &&
      new Quota(limiters.account, config.accountLimit, giveBack, config.accountWindowSeconds);
    this.secondFactor =
      limiters.secondFactor &&
      devices &&
      new Quota(limiters.secondFactor, config.secondFactorLimit, giveBack, config.secondFactorWindowSeconds);
    this.inFlight =
      limiters.addressInFlight && new Quota(limiters.addressInFlight, config.addressConcurrency, giveBack);
  }

  /**
   * Admits one credential check from this address (3.): one of its CREDENTIAL_RATE_LIMIT spent, and one of its
   * CREDENTIAL_CONCURRENCY places taken until the attempt ends. For what checks a credential without being guessed
   * at one account (registration); `begin` does it for the rest.
   */
  async beginCheck(ip: string): Promise<Admission> {
    const places: Place[] = [];
    const spent = await this.spendAddress(ip);
    if (spent > 0) return { admitted: false, retryAfterSeconds: spent };
    return this.admit(places, await this.takeInFlight(ip, places, performance.now() + MAX_WAIT_MS));
  }

  /** Admits an attempt at `action` from `source`, its places taken; or refuses it, with the seconds to wait. */
  async begin(action: GuardedAction, source: AttemptSource): Promise<Admission> {
    const spent = await this.spendAddress(source.ip);
    if (spent > 0) return { admitted: false, retryAfterSeconds: spent };
    const names = await this.countedNames(source);
    // One deadline for every wait of this attempt; the address's place is taken last, so that waiting for a busy
    // account does not hold up everyone else behind the same address.
    const deadline = performance.now() + MAX_WAIT_MS;
    const places: Place[] = [];
    const take = async (quota: Quota | undefined, key: string, onSuccess: Place['onSuccess']) => {
      if (!quota) return 0;
      const wait = await quota.take(key, deadline);
      if (wait === 0) places.push({ quota, key, onSuccess });
      return wait;
    };
    // A browser where this account logged in before: counted on its own, and with every other such browser on the
    // account's count for devices (a thousand cookies collected while the password was known give no more guesses
    // at the next one). Locked, it is a stranger's again. A name that reaches two accounts is a stranger's: the
    // cookie vouches for one of them only.
    const [name = ''] = names;
    const device =
      (action === 'login' || action === 'second_factor') && this.attempts && names.length === 1
        ? this.deviceOf(source.deviceCookie, name)
        : undefined;
    if (device !== undefined) {
      let wait = await take(this.attempts, this.key(action, ['device', device]), 'clear');
      if (wait === 0) wait = await take(this.account, this.key(action, ['devices', name]), 'release');
      if (wait === 0) return this.admit(places, await this.takeInFlight(source.ip, places, deadline));
      await this.giveBackAll(places);
    }
    // Counting by address alone, a success does not clear: logging in to one's own account between guesses at
    // others' would wipe the guesses (django-axes does not clear on success at all).
    // A name that reaches two accounts (one's username, the other's address) clears neither: the success may be the
    // other account's, and clearing both would let an attacker wipe the guesses at a victim's name by logging in to
    // an account of their own that reaches it too.
    const onSuccess = this.config.by === 'ip' || names.length > 1 ? 'release' : 'clear';
    let wait = 0;
    for (const key of new Set(names.map((each) => this.attemptsKey(action, each, source.ip))))
      if (wait === 0) wait = await take(this.attempts, key, onSuccess);
    // Every check of an account's password counts on the account, whatever the address (ASVS 2.2.1); never cleared
    // by a success: the owner logging in must not give an attacker 100 more.
    if (action !== 'reset_password')
      for (const each of names)
        if (wait === 0) wait = await take(this.account, this.key(action, ['account', each]), 'release');
    // 5. Wrong codes in a row, per account, from strangers: few, and for long (six digits, three steps accepted at
    // once, are a 3 in 10^6 guess: at the account limit's rate an attacker holding the password would get one in five
    // accounts in a month). Cleared by a completed login; the owner's own browsers are counted apart (above).
    if (action === 'second_factor')
      for (const each of names)
        if (wait === 0) wait = await take(this.secondFactor, this.key(action, ['second-factor', each]), 'clear');
    if (wait === 0) wait = await this.takeInFlight(source.ip, places, deadline);
    return this.admit(places, wait);
  }

  /**
   * The names an attempt is counted under (countedName): the login names of the accounts it reaches, or, when it
   * reaches none, the name as typed. Looked up only when a count is kept by name (the lockout on).
   */
  private async countedNames({ username, accounts }: AttemptSource): Promise<string[]> {
    const reached = accounts && (this.attempts || this.account) ? await accounts() : [];
    // Not skipped when it reaches nobody: an unknown name locks as an account does, after the same lookup, so that
    // neither the answer nor its time tells whether the account exists.
    return [...new Set((reached.length > 0 ? reached : [username]).map(countedName))];
  }

  private async admit(places: Place[], wait: number): Promise<Admission> {
    if (wait === 0) return { admitted: true, attempt: new Attempt(places) };
    await this.giveBackAll(places);
    return { admitted: false, retryAfterSeconds: wait };
  }

  private async giveBackAll(places: Place[]): Promise<void> {
    for (const { quota, key } of places.splice(0)) await quota.release(key);
  }

  /** Spends one of the address's CREDENTIAL_RATE_LIMIT: 0, or the seconds to wait. */
  private spendAddress(ip: string): Promise<number> {
    return this.spend(this.limiters.address, this.config.addressLimit, this.key('check', ['ip', addressKey(ip)]));
  }

  /** Counts one against `key` of a plain limit (no places): 0 while within `limit`, else the seconds to wait. */
  private async spend(limiter: RateLimiterAbstract | undefined, limit: number, key: string): Promise<number> {
    if (!limiter) return 0;
    const counted = await stored(() => limiter.penalty(key, 1));
    return counted.consumedPoints > limit ? seconds(counted.msBeforeNext) : 0;
  }

  /**
   * Takes one of the address's CREDENTIAL_CONCURRENCY places: checks in flight from one address are few, so that a
   * flood from one address queues behind itself, not in front of everyone else's logins in the hashing threads.
   */
  private async takeInFlight(ip: string, places: Place[], deadline: number): Promise<number> {
    if (!this.inFlight) return 0;
    const key = this.key('in-flight', ['ip', addressKey(ip)]);
    const wait = await this.inFlight.take(key, deadline);
    if (wait === 0) places.push({ quota: this.inFlight, key, onSuccess: 'release' });
    return wait;
  }

  /** Whether this address may ask for one more password reset (4.); counted either way. */
  async mayRequestReset(ip: string): Promise<boolean> {
    const key = this.key('reset', ['reset-ip', addressKey(ip)]);
    return (await this.spend(this.limiters.resetAddress, this.config.resetAddressLimit, key)) === 0;
  }

  /** Whether this account may be sent one more password reset e-mail (4.); counted either way. */
  async maySendResetEmail(userId: number): Promise<boolean> {
    const key = this.key('reset', ['reset-user', String(userId)]);
    return (await this.spend(this.limiters.resetEmail, this.config.resetEmailLimit, key)) === 0;
  }

  /**
   * A device cookie for a browser where the account of this login name (src/auth/login-names.ts) just logged in (or
   * reset its password), if there are any.
   */
  deviceCookie(loginName: string): string | undefined {
    return this.devices?.issue(countedName(loginName));
  }

  /** The id of the device cookie, if it vouches for `name` (a counted name). */
  private deviceOf(deviceCookie: string | undefined, name: string): string | undefined {
    return deviceCookie && this.devices ? this.devices.verify(deviceCookie, name) : undefined;
  }

  /** The key of LOCKOUT_BY's count for `name` (a counted name) from `ip`. */
  private attemptsKey(action: GuardedAction, name: string, ip: string): string {
    const address = addressKey(ip);
    return this.key(
      action,
      this.config.by === 'ip'
        ? ['ip', address]
        : this.config.by === 'username'
          ? ['username', name]
          : ['both', name, address],
    );
  }

  private key(action: GuardedAction | 'check' | 'in-flight' | 'reset', parts: readonly string[]): string {
    const mac = crypto
      .createHmac('sha256', this.keySecret)
      .update(JSON.stringify([action, ...parts]))
      .digest('hex');
    return `${action}:${mac}`;
  }
}

function failuresOf(key: string): string {
  return `${key}:failed`;
}

function seconds(ms: number): number {
  return Math.max(1, Math.ceil(ms / 1000));
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
