/**
 * What the use-cases need of the request's session (Django's `login`, `logout`, `request.user` and
 * `update_session_auth_hash`), and nothing more: whatever implements the session flow satisfies it. A store that
 * cannot keep a change throws its own error (the operation did not happen); the GraphQL layer answers
 * SERVICE_UNAVAILABLE for it.
 */
import type { LoginOptions, LoginOutcome, SecondFactorMethod } from '../auth/session-auth.js';
import type { PendingLogin } from '../auth/request-auth.js';
import type { User } from '../entities/user.js';

/** A login waiting for its second factor: whose, through which backend (the session flow's own type). */
export type { PendingLogin } from '../auth/request-auth.js';

/** Ends every session of a user; returns how many. All a command needs to end sessions, without a request. */
export interface SessionEnder {
  endSessionsOf(userId: number): Promise<number>;
}

export interface SessionFlow extends SessionEnder {
  /** Set when the request authenticated with a personal access token: it has no session to start, change or end. */
  readonly accessToken?: { readonly id: number; readonly scopes: readonly string[] | null } | undefined;
  /** The logged-in user, or null for an anonymous request. */
  user(): Promise<User | null>;
  /**
   * Authenticates through the backends and starts a new session (or a pending login, see `loginAs`); null for bad
   * credentials, whatever the reason.
   */
  login(credentials: Record<string, unknown>): Promise<{ user: User; outcome: LoginOutcome } | null>;
  /**
   * Starts a session for a user already authenticated (or just created), through `backend`: 'complete' when the
   * user is logged in; 'second_factor_required' when the account's second factor must be verified first (a pending
   * login in the session, nobody logged in yet). `secondFactorVerified`: the first factor proved the second too (an
   * identity provider asserting multi-factor authentication, say).
   */
  loginAs(user: User, backend: string, options?: LoginOptions): Promise<LoginOutcome>;
  /** Ends this session. */
  logout(): Promise<boolean>;
  /** After a password change: this session goes on under a new id and the new auth hash; the others end. */
  keepSessionAfterPasswordChange(user: User): Promise<number>;
  /** Ends every other session of `user`; returns how many. */
  logoutOtherSessions(user: User): Promise<number>;
  /** Throws (RefusedWhileImpersonating) when the session is impersonated: for what only the real user may do. */
  assertNotImpersonating(): Promise<void>;
  /**
   * The login waiting for its second factor in this session, with its user; undefined when none (or it ended: expired,
   * the user inactive, or their password changed since).
   */
  pendingLogin(): Promise<PendingLogin | undefined>;
  /** A wrong code for the pending login; false once it ended (after `allowed` of them). */
  pendingLoginFailed(allowed: number): Promise<boolean>;
  /** The second factor was proved: logged in under a new session id. */
  completePendingLogin(pending: PendingLogin, method: SecondFactorMethod): Promise<void>;
  /** The user proved who they are again: step-up counts from now. */
  reauthenticated(): Promise<void>;
}
