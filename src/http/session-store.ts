/**
 * express-session's store on PostgreSQL, through the app's own ORM pool (one pool; never inside someone else's
 * transaction, so PGlite's single backend cannot deadlock on it). Each row keeps the session id, its data, when it
 * expires and whose it is (indexed), so a user's sessions can be listed and ended.
 *
 * Expiry is decided here with the server's clock, not PostgreSQL's, so that tests can move time.
 */
import session, { type SessionData } from 'express-session';
import type { EntityManager } from '@mikro-orm/postgresql';
import type { Clock } from '../auth/clock.js';
import type { SessionConfig } from '../config/index.js';
import type { Database } from '../db/database.js';
import { run, selectOne } from '../db/sql.js';
import './session-data.js';

type Callback<T = void> = (error?: unknown, value?: T) => void;

export class PostgresSessionStore extends session.Store {
  /**
   * Session ids that may be inserted: only those just issued by a login or a password change. Any other `set` only
   * updates an existing row, so a request that loaded a session before a logout ended it, and finishes after, cannot
   * bring it back.
   */
  private readonly insertable = new Set<string>();

  constructor(
    private readonly database: Database,
    private readonly config: Pick<SessionConfig, 'idleTimeoutSeconds' | 'absoluteTimeoutSeconds'>,
    private readonly clock: Clock,
  ) {
    super();
  }

  private em(): EntityManager {
    return this.database.orm.em.fork();
  }

  /** When a session with this data ends: idle or absolute timeout, whichever comes first. */
  expiresAt(data: SessionData): Date {
    const now = this.clock.now().getTime();
    const idleEnd = (data.lastActivityAt ?? now) + this.config.idleTimeoutSeconds * 1000;
    const absoluteEnd = (data.loginAt ?? now) + this.config.absoluteTimeoutSeconds * 1000;
    return new Date(Math.min(idleEnd, absoluteEnd));
  }

  override get(sid: string, callback: Callback<SessionData | null>): void {
    this.read(sid).then(
      (data) => {
        callback(null, data);
      },
      (error: unknown) => {
        callback(error);
      },
    );
  }

  private async read(sid: string): Promise<SessionData | null> {
    const em = this.em();
    const row = await selectOne<{ data: SessionData; expires_at: Date }>(
      em,
      'SELECT data, expires_at FROM gqlauth_session WHERE sid = ?',
      [sid],
    );
    if (!row) return null;
    if (new Date(row.expires_at) <= this.clock.now()) {
      // An expired session is ended for good when it is next presented, not left for clearsessions.
      await run(em, 'DELETE FROM gqlauth_session WHERE sid = ?', [sid]);
      return null;
    }
    return row.data;
  }

  /** Allows the next `set` of this (freshly issued) session id to create its row. */
  allowInsert(sid: string): void {
    this.insertable.add(sid);
  }

  override set(sid: string, data: SessionData, callback?: Callback): void {
    const insert = this.insertable.delete(sid);
    const values = [JSON.stringify(data), this.expiresAt(data), data.userId ?? null];
    run(
      this.em(),
      insert
        ? 'INSERT INTO gqlauth_session (data, expires_at, user_id, sid) VALUES (?, ?, ?, ?)'
        : 'UPDATE gqlauth_session SET data = ?, expires_at = ?, user_id = ? WHERE sid = ?',
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

  /** Ends every session of a user but `exceptSid`; returns how many. */
  destroyForUser(userId: number, exceptSid?: string): Promise<number> {
    return run(this.em(), 'DELETE FROM gqlauth_session WHERE user_id = ? AND sid <> ?', [userId, exceptSid ?? '']);
  }
}
