/**
 * Where sessions are kept. `SessionStore` is what the rest of the server depends on: express-session's Store, plus
 * what login, logout and password changes need (insert only freshly issued ids, end all of a user's sessions) and
 * what start-up, readiness and shutdown need (open, ping, close). Two implementations, chosen by SESSION_STORE in
 * create-session-store.ts: PostgreSQL (below) and Redis (redis-session-store.ts).
 *
 * Expiry is decided with the server's clock, not the store's, so that tests can move time.
 */
import session, { type Session, type SessionData } from 'express-session';
import type { Request } from 'express';
import type { EntityManager } from '@mikro-orm/postgresql';
import { userRowSelect, type UserRow } from '../auth/user-row.js';
import type { Clock } from '../auth/clock.js';
import type { SessionConfig } from '../config/index.js';
import type { Database } from '../db/database.js';
import { run, selectOne } from '../db/sql.js';
import './session-data.js';

export type Callback<T = void> = (error?: unknown, value?: T) => void;

/** What `read` returns for stored data it cannot decode. */
export const CORRUPT = Symbol('corrupt session data');

/** The event a store emits when it meets corrupt session data (session.ts logs it). */
export const CORRUPT_SESSION_EVENT = 'corruptSession';

/**
 * Whether stored data has the shape this server writes. express-session rebuilds its cookie from `cookie`, and
 * RequestAuth trusts the types of the rest: anything else would crash the request, or worse.
 */
export function isSessionData(data: unknown): data is SessionData {
  if (typeof data !== 'object' || data === null || Array.isArray(data)) return false;
  const { cookie, userId, backend, authHash, loginAt, lastActivityAt } = data as Record<string, unknown>;
  const optional = (value: unknown, type: 'number' | 'string') => value === undefined || typeof value === type;
  return (
    typeof cookie === 'object' &&
    cookie !== null &&
    optional(userId, 'number') &&
    optional(backend, 'string') &&
    optional(authHash, 'string') &&
    optional(loginAt, 'number') &&
    optional(lastActivityAt, 'number')
  );
}

/**
 * Where `read` puts the row of the session's user when it read it in the same statement. A symbol: express-session
 * copies only string keys into the session, and hashes and stores only those, so the row is never saved.
 */
export const USER_ROW = Symbol('the row of the session user');

/** The timeouts a store needs to know when a session ends. */
export type SessionTimeouts = Pick<SessionConfig, 'idleTimeoutSeconds' | 'absoluteTimeoutSeconds'>;

export abstract class SessionStore extends session.Store {
  /**
   * Session ids that may be inserted: only those just issued by a login or a password change. Any other `set` only
   * updates a session that still exists, so a request that loaded a session before a logout ended it, and finishes
   * after, cannot bring it back.
   */
  private readonly insertable = new Set<string>();

  /** The user rows read with the sessions of requests in flight (see `takeUserRow`). */
  private readonly userRows = new WeakMap<Request, UserRow>();

  constructor(
    protected readonly timeouts: SessionTimeouts,
    protected readonly clock: Clock,
  ) {
    super();
  }

  /** When a session with this data ends: idle or absolute timeout, whichever comes first. */
  expiresAt(data: SessionData): Date {
    const now = this.clock.now().getTime();
    const idleEnd = (data.lastActivityAt ?? now) + this.timeouts.idleTimeoutSeconds * 1000;
    const absoluteEnd = (data.loginAt ?? now) + this.timeouts.absoluteTimeoutSeconds * 1000;
    return new Date(Math.min(idleEnd, absoluteEnd));
  }

  /** Allows the next `set` of this (freshly issued) session id to create it. */
  allowInsert(sid: string): void {
    this.insertable.add(sid);
  }

  /** Whether this `set` may create the session; true once per `allowInsert`. */
  protected takeInsert(sid: string): boolean {
    return this.insertable.delete(sid);
  }

  /** express-session makes the request's session from what `get` returned: the user row, if any, is kept aside. */
  override createSession(req: Request, data: SessionData): Session & SessionData {
    const row = (data as { [USER_ROW]?: UserRow })[USER_ROW];
    if (row !== undefined) this.userRows.set(req, row);
    return super.createSession(req, data);
  }

  /**
   * The row of the user this request's session names, when the store read it with the session; given once. The
   * session and its user then cost one statement instead of two.
   */
  takeUserRow(req: Request): UserRow | undefined {
    const row = this.userRows.get(req);
    this.userRows.delete(req);
    return row;
  }

  /**
   * express-session's callback form, over `read`. Data that is not a session (undecodable, or of another shape) is
   * Django's "Session data corrupted": the session is deleted and the request goes on without one.
   */
  override get(sid: string, callback: Callback<SessionData | null>): void {
    this.readChecked(sid).then(
      (data) => {
        callback(null, data);
      },
      (error: unknown) => {
        callback(error);
      },
    );
  }

  private async readChecked(sid: string): Promise<SessionData | null> {
    const data = await this.read(sid);
    if (data === null || isSessionData(data)) return data;
    this.emit(CORRUPT_SESSION_EVENT);
    await new Promise<void>((resolve, reject) => {
      this.destroy(sid, (error) => {
        if (error === undefined) resolve();
        else reject(error instanceof Error ? error : new Error(String(error)));
      });
    });
    return null;
  }

  /**
   * The session's stored data, or null when there is none or it is over (and then it is deleted); CORRUPT when
   * it cannot be decoded. `get` checks the shape.
   */
  protected abstract read(sid: string): Promise<unknown>;

  /** Ends every session of a user but `exceptSid`; returns how many there really were. */
  abstract destroyForUser(userId: number, exceptSid?: string): Promise<number>;

  /**
   * Django's `clearsessions`: deletes the sessions that are over by the server's clock (they would be refused, and
   * deleted, when next presented; most never are). Returns how many.
   */
  abstract clearExpired(): Promise<number>;

  /** Connects, at start-up, before the server listens; throws when the store cannot be reached. */
  open(): Promise<void> {
    return Promise.resolve();
  }

  /** True while the store answers (readiness). Never throws. */
  ping(): Promise<boolean> {
    return Promise.resolve(true);
  }

  /** Releases what `open` took, after the HTTP server has drained. Safe to call twice. */
  close(): Promise<void> {
    return Promise.resolve();
  }

  // No `touch`: express-session would call it on every request whose session is unchanged, one write per request.
  // Activity is written by `set`, at most once per SESSION_TOUCH_INTERVAL (request-auth.ts).
}

/**
 * Sessions in the `gqlauth_session` table, through the app's own ORM pool (one pool; never inside someone else's
 * transaction, so PGlite's single backend cannot deadlock on it). Each row keeps the session id, its data, when it
 * expires and whose it is (indexed), so a user's sessions can be listed and ended. Its readiness is the database's,
 * which /readyz checks itself; it opens and closes nothing of its own.
 */
export class PostgresSessionStore extends SessionStore {
  constructor(
    private readonly database: Database,
    timeouts: SessionTimeouts,
    clock: Clock,
  ) {
    super(timeouts, clock);
  }

  /** Raw SQL only goes through it, never an entity: one fork for the store's life, not one per statement. */
  private sqlEm: EntityManager | undefined;

  private em(): EntityManager {
    return (this.sqlEm ??= this.database.orm.em.fork());
  }

  /** The session, and its user's row with it (one statement for both: every authenticated request needs both). */
  protected override async read(sid: string): Promise<unknown> {
    const em = this.em();
    const row = await selectOne<{ gqlauth_session_data: unknown; gqlauth_session_expires_at: Date } & UserRow>(
      em,
      `SELECT s.data AS gqlauth_session_data, s.expires_at AS gqlauth_session_expires_at, ${userRowSelect(em, 'u')}
         FROM gqlauth_session s LEFT JOIN auth_user u ON u.id = s.user_id WHERE s.sid = ?`,
      [sid],
    );
    if (!row) return null;
    const { gqlauth_session_data: data, gqlauth_session_expires_at: expiresAt, ...user } = row;
    if (new Date(expiresAt) <= this.clock.now()) {
      // An expired session is ended for good when it is next presented, not left for clearsessions.
      await run(em, 'DELETE FROM gqlauth_session WHERE sid = ?', [sid]);
      return null;
    }
    // No user row (an anonymous session, or a user deleted since): RequestAuth asks the backend, which says so.
    if (typeof data === 'object' && data !== null && (user.id as number | null) !== null) {
      Object.assign(data, { [USER_ROW]: user });
    }
    return data;
  }

  override set(sid: string, data: SessionData, callback?: Callback): void {
    const insert = this.takeInsert(sid);
    const values = [JSON.stringify(data), this.expiresAt(data), data.userId ?? null];
    run(
      this.em(),
      insert
        ? 'INSERT INTO gqlauth_session (data, expires_at, user_id, sid) VALUES (?, ?, ?, ?)'
        : // Only a row that still exists is updated: a logged-out session is never resurrected.
          'UPDATE gqlauth_session SET data = ?, expires_at = ?, user_id = ? WHERE sid = ?',
      [...values, sid],
    ).then(
      () => callback?.(),
      (error: unknown) => callback?.(error),
    );
  }

  override destroy(sid: string, callback?: Callback): void {
    run(this.em(), 'DELETE FROM gqlauth_session WHERE sid = ?', [sid]).then(
      () => callback?.(),
      (error: unknown) => callback?.(error),
    );
  }

  clearExpired(): Promise<number> {
    return run(this.em(), 'DELETE FROM gqlauth_session WHERE expires_at <= ?', [this.clock.now()]);
  }

  destroyForUser(userId: number, exceptSid?: string): Promise<number> {
    return run(this.em(), 'DELETE FROM gqlauth_session WHERE user_id = ? AND sid <> ?', [userId, exceptSid ?? '']);
  }
}
