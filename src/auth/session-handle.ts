/**
 * A request's session as the core sees it, whatever keeps it (express-session for the server, src/http/session-handle.ts):
 * the auth keys it carries, the user the store read with it, and the three things the flow does to it.
 */
import type { UserRow } from '../stores/user-row.js';

/** What a login keeps in the session (Django's `_auth_user_id`, `_auth_user_backend`, `_auth_user_hash`). */
export interface SessionAuthKeys {
  /** The logged-in user; absent for an anonymous session. */
  userId?: number;
  /** The authentication backend that logged them in, asked again for the user on each request. */
  backend?: string;
  /** HMAC of the user's password hash at login (Django's session auth hash): a password change ends the session. */
  authHash?: string;
  /** Epoch milliseconds. */
  loginAt?: number;
  /** Last recorded activity (epoch milliseconds); written at most once per SESSION_TOUCH_INTERVAL. */
  lastActivityAt?: number;
  /**
   * What the session list shows in place of the session id (which would let whoever reads it take the session
   * over): random, drawn apart from the id, kept across a password change (the same browser's session).
   */
  publicId?: string;
  /** When this session began (epoch milliseconds): a login, or the start or end of an impersonation. */
  createdAt?: number;
  /** Browser and system families at login ("Firefox on Linux"), never the header itself (user-agent.ts). */
  userAgent?: string;
  /** The client's address at login. */
  ip?: string;
  /** Under impersonation (django-hijack's): the real user's login, checked on each request and restored after. */
  impersonator?: ImpersonatorKeys;
  /**
   * When the user last proved who they are (epoch milliseconds): the login, its second factor, `reauthenticate`.
   * Step-up (`@auth(recent: ...)`) reads it; a session from before it was kept falls back on `loginAt`.
   */
  authenticatedAt?: number;
  /**
   * A password login waiting for the account's second factor. Nobody is logged in meanwhile: there is no `userId`,
   * so `me` is null and every guard sees an anonymous request.
   */
  pendingLogin?: PendingLoginKeys;
}

/** A login whose first factor passed, waiting for the second (verifyTotp, verifyRecoveryCode). */
export interface PendingLoginKeys {
  userId: number;
  backend: string;
  /** When the first factor passed (epoch milliseconds): the pending login lives SECOND_FACTOR_TIMEOUT from then. */
  startedAt: number;
  /** The session auth hash of the password that passed: a password change meanwhile ends the pending login. */
  authHash: string;
  /** Wrong codes so far: a few end the pending login. */
  failures: number;
}

/** The real user behind an impersonation, as their own session named them. */
export interface ImpersonatorKeys {
  userId: number;
  backend: string;
  /** The real user's session auth hash: their password changing ends the impersonation. */
  authHash: string;
}

/** Who the request comes from, as the session list shows it: the User-Agent header and the client's address. */
export interface SessionClient {
  readonly userAgent: string | undefined;
  readonly ip: string;
}

export interface SessionHandle {
  /** The session's id; undefined while the request has none. */
  readonly id: string | undefined;
  /** The auth keys the session carries; empty without a session. */
  readonly keys: Readonly<SessionAuthKeys>;
  /**
   * The row of the user `keys.userId` names, as the store read it with the session (getSessionAndUser): null when
   * there is no such user, undefined when nothing was read (no session, or one started by this request).
   */
  readonly user: UserRow | null | undefined;
  /** Who sends this request: recorded (coarsely) in a session this request starts. */
  readonly client: SessionClient;
  /** Changes some keys of an existing session; written back when the request ends. */
  update(keys: Partial<SessionAuthKeys>): Promise<void>;
  /**
   * Django's `cycle_key`: a fresh id carrying `keys`, stored now; the previous session, if any, is deleted. Rejects
   * when the store fails, and then the request has no session (nothing is stored, no cookie sent).
   */
  cycleKey(keys: SessionAuthKeys): Promise<void>;
  /** Django's `flush`: the session is deleted, and the client told to drop its cookie. Nothing to do without one. */
  flush(): Promise<void>;
}
