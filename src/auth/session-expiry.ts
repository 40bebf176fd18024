/**
 * When a session ends: SESSION_IDLE_TIMEOUT after its last recorded activity, or SESSION_ABSOLUTE_TIMEOUT after
 * login, whichever comes first. The one rule: the flow refuses a session past it (session-auth.ts), and the stores
 * are told it as the time to forget the session. Decided with the server's clock, never the store's, so that tests
 * can move time and replicas agree.
 */

export interface SessionTimeouts {
  readonly idleTimeoutSeconds: number;
  readonly absoluteTimeoutSeconds: number;
}

/** The times a session carries (epoch milliseconds). */
export interface SessionTimes {
  readonly loginAt?: number | undefined;
  readonly lastActivityAt?: number | undefined;
}

export interface SessionEnd {
  /** Epoch milliseconds: the session is over from this instant on. */
  readonly at: number;
  /** Which timeout comes first. */
  readonly by: 'idle' | 'absolute';
}

/** The end of a session with these times; a missing time counts from `now`. */
export function sessionEnd(
  { loginAt, lastActivityAt }: SessionTimes,
  timeouts: SessionTimeouts,
  now: number,
): SessionEnd {
  const absolute = (loginAt ?? now) + timeouts.absoluteTimeoutSeconds * 1000;
  const idle = (lastActivityAt ?? now) + timeouts.idleTimeoutSeconds * 1000;
  return absolute <= idle ? { at: absolute, by: 'absolute' } : { at: idle, by: 'idle' };
}
