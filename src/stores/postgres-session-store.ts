/**
 * Sessions in the `gqlauth_session` table, through the app's own database: the ORM's pool, and on a server the
 * database's pipelined connection for the read every request makes (src/db/pipeline.ts); never inside someone else's
 * transaction, so PGlite's single backend cannot deadlock on it. Each row keeps the session id, its data, when it
 * expires and whose it is (indexed), so a user's sessions can be listed and ended. Its readiness is the database's,
 * which /readyz checks itself; it opens and closes nothing of its own.
 */
import type { EntityManager } from '@mikro-orm/postgresql';
import type { Database } from '../db/database.js';
import { preparedOne, run, selectAll } from '../db/sql.js';
import {
  CORRUPT,
  type ListedSession,
  type SessionAndUser,
  type SessionStore,
  type StoredSessionData,
} from './session-store.js';
import { userRowSelect, type UserRow } from './user-row.js';

/** Whether stored data is an object, as every session is. */
function isData(data: unknown): data is StoredSessionData {
  return typeof data === 'object' && data !== null && !Array.isArray(data);
}

export class PostgresSessionStore implements SessionStore {
  constructor(
    private readonly database: Database,
    /** The server's clock: a row past its expires_at is over, whatever the database's own clock says. */
    private readonly clock: { now(): Date },
  ) {}

  /** Raw SQL only goes through it, never an entity: one fork for the store's life, not one per statement. */
  private sqlEm: EntityManager | undefined;

  private em(): EntityManager {
    return (this.sqlEm ??= this.database.orm.em.fork());
  }

  /** The session, and its user's row with it: one statement for both (every authenticated request needs both). */
  async getSessionAndUser(sid: string): Promise<SessionAndUser | null | typeof CORRUPT> {
    const em = this.em();
    const row = await preparedOne<{ gqlauth_session_data: unknown; gqlauth_session_expires_at: Date } & UserRow>(
      em,
      // Prepared once per connection on a server. The embedded database serves every connection with one backend,
      // where a statement one connection prepared collides with the same name from the next: parsed each time there.
      this.database.embeddedUrl === undefined ? 'gqlauth_session_and_user' : undefined,
      `SELECT s.data AS gqlauth_session_data, s.expires_at AS gqlauth_session_expires_at, ${userRowSelect(em, 'u')}
         FROM gqlauth_session s LEFT JOIN auth_user u ON u.id = s.user_id WHERE s.sid = $1`,
      [sid],
    );
    if (!row) return null;
    const { gqlauth_session_data: data, gqlauth_session_expires_at: expiresAt, ...user } = row;
    if (new Date(expiresAt) <= this.clock.now()) {
      // An expired session is ended for good when it is next presented, not left for clearsessions.
      await this.destroy(sid);
      return null;
    }
    if (!isData(data)) return CORRUPT;
    // No user row (an anonymous session, or a user deleted since): the LEFT JOIN gave nulls.
    return { session: data, user: (user.id as number | null) === null ? null : user };
  }

  async insert(sid: string, data: StoredSessionData, expiresAt: Date): Promise<void> {
    await run(this.em(), 'INSERT INTO gqlauth_session (data, expires_at, user_id, sid) VALUES (?, ?, ?, ?)', [
      JSON.stringify(data),
      expiresAt,
      data.userId ?? null,
      sid,
    ]);
  }

  async update(sid: string, data: StoredSessionData, expiresAt: Date): Promise<void> {
    // Only a row that still exists is updated: a logged-out session is never resurrected.
    await run(this.em(), 'UPDATE gqlauth_session SET data = ?, expires_at = ?, user_id = ? WHERE sid = ?', [
      JSON.stringify(data),
      expiresAt,
      data.userId ?? null,
      sid,
    ]);
  }

  async destroy(sid: string): Promise<void> {
    await run(this.em(), 'DELETE FROM gqlauth_session WHERE sid = ?', [sid]);
  }

  clearExpired(): Promise<number> {
    return run(this.em(), 'DELETE FROM gqlauth_session WHERE expires_at <= ?', [this.clock.now()]);
  }

  async listForUser(userId: number): Promise<ListedSession[]> {
    // By the indexed user_id column; a row past its time is as good as gone (clearsessions deletes it later).
    const rows = await selectAll<{ sid: string; data: unknown; expires_at: Date }>(
      this.em(),
      'SELECT sid, data, expires_at FROM gqlauth_session WHERE user_id = ? AND expires_at > ?',
      [userId, this.clock.now()],
    );
    return rows.flatMap(({ sid, data, expires_at: expiresAt }) =>
      isData(data) ? [{ sid, data, expiresAt: new Date(expiresAt) }] : [],
    );
  }

  destroyForUser(userId: number, exceptSid?: string): Promise<number> {
    return run(this.em(), 'DELETE FROM gqlauth_session WHERE user_id = ? AND sid <> ?', [userId, exceptSid ?? '']);
  }

  open(): Promise<void> {
    return Promise.resolve();
  }

  ping(): Promise<boolean> {
    return Promise.resolve(true);
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}
