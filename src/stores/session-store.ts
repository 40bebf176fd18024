/**
 * The session store port, after Lucia v3's adapter: what the server needs of wherever sessions are kept. Two
 * implementations, chosen by SESSION_STORE in create-stores.ts: PostgreSQL (postgres-session-store.ts) and Redis
 * (redis-session-store.ts). express-session reaches a store through src/http/express-session-store.ts.
 *
 * A store keeps what it is given and forgets it at the time it is told: when a session ends is decided by the core
 * (src/auth/session-expiry.ts), with the server's clock.
 */
import type { UserRow } from './user-row.js';

/** What a session holds, as the store sees it: whatever the server put there, and whose it is. */
export type StoredSessionData = Record<string, unknown> & { readonly userId?: number | undefined };

/** A session and its user, read together. */
export interface SessionAndUser {
  readonly session: StoredSessionData;
  /** The row of the user `session.userId` names; null when it names none, or a user that no longer exists. */
  readonly user: UserRow | null;
}

/** One of a user's sessions, as `listForUser` finds it. */
export interface ListedSession {
  /** The session's id: for the server to end it or to know the current one, never to be shown. */
  readonly sid: string;
  readonly data: StoredSessionData;
  readonly expiresAt: Date;
}

/** What `getSessionAndUser` returns for stored data it cannot decode. */
export const CORRUPT = Symbol('corrupt session data');

export interface SessionStore {
  /**
   * The session and its user, in one call: every authenticated request needs both, and this is the only read it
   * makes of them (with PostgreSQL one statement; with Redis one Redis read and one statement). Null when there is
   * no such session, or it is past its time (then it is deleted); CORRUPT for data that is no session.
   */
  getSessionAndUser(sid: string): Promise<SessionAndUser | null | typeof CORRUPT>;

  /** Stores a new session under a freshly issued id; fails if the id is taken. */
  insert(sid: string, data: StoredSessionData, expiresAt: Date): Promise<void>;

  /** Rewrites a session that still exists; does nothing for one that ended (a logout is never undone). */
  update(sid: string, data: StoredSessionData, expiresAt: Date): Promise<void>;

  destroy(sid: string): Promise<void>;

  /**
   * The sessions of a user that are not past their time by the server's clock, in no particular order (for the
   * session list). Data that is no session is left out.
   */
  listForUser(userId: number): Promise<ListedSession[]>;

  /** Ends every session of a user but `exceptSid`; returns how many there really were. */
  destroyForUser(userId: number, exceptSid?: string): Promise<number>;

  /**
   * Django's `clearsessions`: deletes the sessions that are over by the server's clock (they would be refused, and
   * deleted, when next presented; most never are). Returns how many.
   */
  clearExpired(): Promise<number>;

  /** Connects, at start-up, before the server listens; throws when the store cannot be reached. */
  open(): Promise<void>;

  /** True while the store answers (readiness). Never throws. */
  ping(): Promise<boolean>;

  /** Releases what `open` took, after the HTTP server has drained. Safe to call twice. */
  close(): Promise<void>;
}
