/**
 * Credential checks under the lockout (django-axes's rules, src/auth/lockout.ts): an attempt is admitted before any
 * password is hashed or token checked, then counted as it ends. A failure of the counters is the lockout's own
 * error (LockoutStoreError): the caller answers it as "unavailable", never as a guess.
 */
import type { Auth } from '../auth/index.js';
import type { Attempt, AttemptSource, GuardedAction, Lockout } from '../auth/lockout.js';
import type { Logger } from '../logger.js';
import { LockedOut } from './errors.js';

export interface AttemptDeps {
  readonly lockout: Lockout;
  readonly logger: Logger;
  /** Whose events hear of a refused attempt (`userLockedOut`). */
  readonly core: Pick<Auth, 'events'>;
}

/**
 * Admits an attempt at `action`, its places in the lockout's counts taken; refuses it while `source` is locked out
 * (or its address has spent its checks): before any password is hashed or token checked, so that a refused attempt
 * costs nothing and tells nothing, even with the right password.
 */
async function admit(
  { lockout, logger, core }: AttemptDeps,
  action: GuardedAction,
  source: AttemptSource,
): Promise<Attempt> {
  const admission = await lockout.begin(action, source);
  if (admission.admitted) return admission.attempt;
  const { retryAfterSeconds } = admission;
  logger.debug({ action, credentials: { username: source.username }, retryAfterSeconds }, `${action} refused: locked`);
  await core.events.emit('userLockedOut', { username: source.username, ip: source.ip, action, retryAfterSeconds });
  throw new LockedOut(retryAfterSeconds);
}

/**
 * A successful attempt: its place given back, the count started again. Best effort: the action has happened (a
 * session started, a password set), and a count left behind only shortens the next lockout's way.
 */
export async function succeeded(
  { logger }: Pick<AttemptDeps, 'logger'>,
  action: GuardedAction | 'register',
  attempt: Attempt,
): Promise<void> {
  await attempt.succeeded().catch((error: unknown) => {
    logger.error({ err: error, action }, 'the lockout counters failed (a success was not recorded)');
  });
}

/** What a check tells the attempt: a failure is counted (a counter failure is LockoutStoreError), a success not. */
export interface AttemptOutcome {
  failed(): Promise<void>;
  succeeded(): Promise<void>;
}

/**
 * Runs `check` as an admitted attempt at `action`. One that ends in an error before it said how it ended (the
 * database or the session store failed) is abandoned: its places are given back, so that a failure of ours neither
 * counts as a guess nor holds the address's place until its window ends.
 */
export async function attempting<T>(
  deps: AttemptDeps,
  action: GuardedAction,
  source: AttemptSource,
  check: (outcome: AttemptOutcome) => Promise<T>,
): Promise<T> {
  const attempt = await admit(deps, action, source);
  try {
    return await check({ failed: () => attempt.failed(), succeeded: () => succeeded(deps, action, attempt) });
  } finally {
    await attempt.abandoned().catch((error: unknown) => {
      deps.logger.error({ err: error, action }, 'the lockout counters failed (an attempt was not given back)');
    });
  }
}
