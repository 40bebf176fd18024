/**
 * express-session's Store over the session store port (src/stores/session-store.ts): express-session stays the
 * cookie layer, and a session it loads carries the user the store read with it (getSessionAndUser), for the
 * session handle (session-handle.ts) to give to the core.
 *
 * Only ids this server just issued (a login, a password change) are inserted; any other save only updates a session
 * that still exists, so a request that loaded a session before a logout ended it, and finishes after, cannot bring
 * it back. When a session ends is the core's rule (src/auth/session-expiry.ts), with the server's clock.
 */
import session, { type Session, type SessionData } from 'express-session';
import type { Request } from 'express';
import type { Clock } from '../auth/clock.js';
import { sessionEnd, type SessionTimeouts } from '../auth/session-expiry.js';
import { CORRUPT, type SessionStore, type StoredSessionData } from '../stores/session-store.js';
import type { UserRow } from '../stores/user-row.js';
import './session-data.js';

type Callback<T = void> = (error?: unknown, value?: T) => void;

/** The event emitted when a stored session cannot be read (session.ts logs it). */
export const CORRUPT_SESSION_EVENT = 'corruptSession';

/**
 * Where a loaded session keeps the user read with it. A symbol, defined not enumerable: express-session copies,
 * hashes and saves only string keys, so the row (and its password hash) is never written back to the store.
 */
const USER = Symbol('the user read with the session');

export type LoadedData = SessionData & { [USER]?: UserRow | null };

/**
 * Whether stored data has the shape this server writes. express-session rebuilds its cookie from `cookie`, and the
 * core trusts the types of the rest: anything else would crash the request, or worse.
 */
export function isSessionData(data: unknown): data is SessionData {
  if (typeof data !== 'object' || data === null || Array.isArray(data)) return false;
  const { cookie, userId, backend, authHash, loginAt, lastActivityAt, impersonator } = data as Record<string, unknown>;
  const { publicId, createdAt, userAgent, ip } = data as Record<string, unknown>;
  const optional = (value: unknown, type: 'number' | 'string') => value === undefined || typeof value === type;
  return (
    typeof cookie === 'object' &&
    cookie !== null &&
    optional(userId, 'number') &&
    optional(backend, 'string') &&
    optional(authHash, 'string') &&
    optional(loginAt, 'number') &&
    optional(lastActivityAt, 'number') &&
    optional(publicId, 'string') &&
    optional(createdAt, 'number') &&
    optional(userAgent, 'string') &&
    optional(ip, 'string') &&
    (impersonator === undefined || isImpersonator(impersonator))
  );
}

/** The real user's keys under impersonation: every one present, each of its type (they are checked each request). */
function isImpersonator(value: unknown): boolean {
  if (typeof value !== 'object' || value === null) return false;
  const { userId, backend, authHash } = value as Record<string, unknown>;
  return typeof userId === 'number' && typeof backend === 'string' && typeof authHash === 'string';
}

/** The user the store read with this request's session: undefined when none was read. */
export function userReadWith(loaded: Session | LoadedData): UserRow | null | undefined {
  return (loaded as LoadedData)[USER];
}

export class ExpressSessionStore extends session.Store {
  /** Session ids that may be inserted: only those just issued by a login or a password change. */
  private readonly insertable = new Set<string>();

  /**
   * `pendingLoginSeconds`: how long a session holding only a login waiting for its second factor is kept
   * (SECOND_FACTOR_TIMEOUT): the store forgets it then, not after a whole session's life.
   */
  constructor(
    readonly port: SessionStore,
    private readonly timeouts: SessionTimeouts,
    private readonly clock: Clock,
    private readonly pendingLoginSeconds = Infinity,
  ) {
    super();
  }

  /** Allows the next save of this (freshly issued) session id to create it. */
  allowInsert(sid: string): void {
    this.insertable.add(sid);
  }

  /**
   * express-session's read. Data that is not a session (undecodable, or of another shape) is Django's "Session data
   * corrupted": the session is deleted and the request goes on without one.
   */
  override get(sid: string, callback: Callback<SessionData | null>): void {
    this.loadData(sid).then(
      (data) => {
        callback(null, data);
      },
      (error: unknown) => {
        callback(error);
      },
    );
  }

  /**
   * The session `sid` names, with the user read with it (`userReadWith`), or null. What `get` gives express-session,
   * and what session.ts reads itself for a request that may never change its session.
   */
  async loadData(sid: string): Promise<LoadedData | null> {
    const found = await this.port.getSessionAndUser(sid);
    if (found === null) return null;
    if (found !== CORRUPT && isSessionData(found.session)) {
      return Object.defineProperty({ ...found.session }, USER, { value: found.user, enumerable: false });
    }
    this.emit(CORRUPT_SESSION_EVENT);
    await this.port.destroy(sid);
    return null;
  }

  /** express-session makes the request's session from what `get` returned; the user read with it goes along. */
  override createSession(req: Request, data: LoadedData): Session & SessionData {
    const user = data[USER];
    const made = super.createSession(req, data);
    if (user !== undefined) Object.defineProperty(made, USER, { value: user, enumerable: false });
    return made;
  }

  override set(sid: string, data: SessionData, callback?: Callback): void {
    const stored = data as unknown as StoredSessionData;
    const end = sessionEnd(data, this.timeouts, this.clock.now().getTime()).at;
    const { pendingLogin } = data;
    const expiresAt = new Date(
      pendingLogin && data.userId === undefined
        ? Math.min(end, pendingLogin.startedAt + this.pendingLoginSeconds * 1000)
        : end,
    );
    // Only a freshly issued id is inserted; any other write only updates a session that still exists.
    const write = this.insertable.delete(sid)
      ? this.port.insert(sid, stored, expiresAt)
      : this.port.update(sid, stored, expiresAt);
    write.then(
      () => callback?.(),
      (error: unknown) => callback?.(error),
    );
  }

  override destroy(sid: string, callback?: Callback): void {
    this.port.destroy(sid).then(
      () => callback?.(),
      (error: unknown) => callback?.(error),
    );
  }

  // No `touch`: express-session would call it on every request whose session is unchanged, one write per request.
  // Activity is written by `set`, at most once per SESSION_TOUCH_INTERVAL (src/auth/session-auth.ts).
}
