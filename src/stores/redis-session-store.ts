/**
 * Sessions in Redis (SESSION_STORE=redis), on the connection it shares with the lockout counters
 * (redis-connection.ts). Two kinds of keys, both under REDIS_KEY_PREFIX:
 *
 *   <prefix>session:<sid>   a string: JSON {"expiresAt": epoch ms, "data": the session}, expiring on its own (PX)
 *   <prefix>user:<userId>   a set: the ids of that user's sessions, for logoutOtherSessions and password changes
 *
 * The same guarantees as the PostgreSQL store: only a freshly issued id is inserted (SET NX), every other write
 * only updates a session that still exists (SET XX); expiry is decided with the server's clock; a user's sessions
 * can all be ended but one. A session key and its user's set change together, in one MULTI. The session's user is
 * read from PostgreSQL, where users are: one statement, as with the PostgreSQL store.
 */
import type { Database } from '../db/database.js';
import type { RedisConnection } from './redis-connection.js';
import {
  CORRUPT,
  type ListedSession,
  type SessionAndUser,
  type SessionStore,
  type StoredSessionData,
} from './session-store.js';
import { loadUserRow } from './user-row.js';

interface StoredSession {
  /** When the session ends, by the server's clock (epoch ms). */
  readonly expiresAt: number;
  readonly data: unknown;
}

/** A stored session, or undefined for a value that is not one (not JSON, another program's key). */
function decode(raw: string): StoredSession | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    return undefined;
  }
  if (typeof parsed !== 'object' || parsed === null) return undefined;
  const { expiresAt, data } = parsed as Record<string, unknown>;
  return typeof expiresAt === 'number' ? { expiresAt, data } : undefined;
}

/** Whether stored data is an object, as every session is. */
function isData(data: unknown): data is StoredSessionData {
  return typeof data === 'object' && data !== null && !Array.isArray(data);
}

/** The user a stored session belongs to, if it says so. */
function userIdOf(stored: StoredSession | undefined): number | undefined {
  const userId = isData(stored?.data) ? stored.data.userId : undefined;
  return typeof userId === 'number' ? userId : undefined;
}

export class RedisSessionStore implements SessionStore {
  constructor(
    private readonly redis: RedisConnection,
    /** Where the sessions' users are read. */
    private readonly database: Database,
    private readonly clock: { now(): Date },
    /** How long a user's set of sessions must last: as long as the longest session may (SESSION_ABSOLUTE_TIMEOUT). */
    private readonly absoluteTimeoutSeconds: number,
  ) {}

  private sessionKey(sid: string): string {
    return `${this.redis.keyPrefix}session:${sid}`;
  }

  private userKey(userId: number): string {
    return `${this.redis.keyPrefix}user:${userId}`;
  }

  open(): Promise<void> {
    return this.redis.open();
  }

  ping(): Promise<boolean> {
    return this.redis.ping();
  }

  close(): Promise<void> {
    return this.redis.close();
  }

  async getSessionAndUser(sid: string): Promise<SessionAndUser | null | typeof CORRUPT> {
    const raw = await this.redis.call(() => this.redis.client.get(this.sessionKey(sid)));
    if (raw === null) return null;
    const stored = decode(raw);
    if (!stored || !isData(stored.data)) return CORRUPT;
    if (stored.expiresAt <= this.clock.now().getTime()) {
      // Over by the server's clock though Redis still holds it (clocks differ; tests move time): ended for good.
      await this.remove(sid, userIdOf(stored));
      return null;
    }
    const userId = userIdOf(stored);
    const user = userId === undefined ? undefined : await loadUserRow(this.database.orm.em.fork(), userId);
    return { session: stored.data, user: user ?? null };
  }

  insert(sid: string, data: StoredSessionData, expiresAt: Date): Promise<void> {
    return this.write(sid, data, expiresAt.getTime(), true);
  }

  update(sid: string, data: StoredSessionData, expiresAt: Date): Promise<void> {
    return this.write(sid, data, expiresAt.getTime(), false);
  }

  private async write(sid: string, data: StoredSessionData, expiresAt: number, insert: boolean): Promise<void> {
    // Redis is told a duration, computed with the server's clock: Redis's own clock never decides when a session
    // ends, and the key cannot outlive the session by more than clock drift.
    const ttl = expiresAt - this.clock.now().getTime();
    if (ttl <= 0) {
      // Already over: nothing to keep. An update removes what is there; an insert stores nothing.
      if (!insert) await this.remove(sid, data.userId);
      return;
    }
    const userId = data.userId;
    // A new session is a moment to drop the ids of this user's sessions that have expired since: the set stays as
    // small as the user's live sessions. (An id whose key is gone never comes back: only fresh ids are inserted.)
    const stale = insert && userId !== undefined ? await this.staleIds(userId) : [];
    const stored: StoredSession = { expiresAt, data };
    const transaction = this.redis.client.multi().set(this.sessionKey(sid), JSON.stringify(stored), {
      expiration: { type: 'PX', value: ttl },
      // NX: only a freshly issued id creates a session. XX: any other write only updates a session that still
      // exists, so a request still in flight when its session was logged out cannot resurrect it.
      condition: insert ? 'NX' : 'XX',
    });
    if (userId !== undefined) {
      const userKey = this.userKey(userId);
      transaction.sAdd(userKey, sid);
      if (stale.length > 0) transaction.sRem(userKey, stale);
      // The set outlives every session in it (none lasts longer than the absolute timeout from now), so that
      // logoutOtherSessions and password changes always find them all.
      transaction.pExpire(userKey, Math.max(ttl, this.absoluteTimeoutSeconds * 1000));
    }
    // SET answers null when its condition failed (node-redis's types omit that null).
    const [written]: unknown[] = await this.redis.call(() => transaction.exec());
    // A fresh id taken already: 192 random bits make that impossible unless something is badly wrong.
    if (insert && written !== 'OK') throw new Error('a new session id is already in use');
  }

  /** The ids in a user's set whose session key no longer exists (expired, or ended). */
  private async staleIds(userId: number): Promise<string[]> {
    const { client } = this.redis;
    const ids = await this.redis.call(() => client.sMembers(this.userKey(userId)));
    if (ids.length === 0) return [];
    const exists = await this.redis.call(() => Promise.all(ids.map((id) => client.exists(this.sessionKey(id)))));
    return ids.filter((_id, index) => exists[index] === 0);
  }

  async destroy(sid: string): Promise<void> {
    const raw = await this.redis.call(() => this.redis.client.get(this.sessionKey(sid)));
    await this.remove(sid, raw === null ? undefined : userIdOf(decode(raw)));
  }

  /** Deletes a session key and its id in the user's set, together. */
  private async remove(sid: string, userId: number | undefined): Promise<void> {
    const transaction = this.redis.client.multi().del(this.sessionKey(sid));
    if (userId !== undefined) transaction.sRem(this.userKey(userId), sid);
    await this.redis.call(() => transaction.exec());
  }

  /**
   * Redis drops expired keys itself; this deletes those the server's clock says are over (its own clock may run
   * ahead of Redis's TTLs) and prunes the ids of vanished sessions from the users' sets. SCAN, never KEYS: Redis is
   * not blocked however many sessions there are.
   */
  async clearExpired(): Promise<number> {
    const now = this.clock.now().getTime();
    const prefix = this.redis.keyPrefix;
    const { client } = this.redis;
    let cleared = 0;
    for await (const keys of client.scanIterator({ MATCH: `${prefix}session:*`, COUNT: 500 })) {
      for (const key of keys) {
        const raw = await this.redis.call(() => client.get(key));
        if (raw === null) continue;
        const stored = decode(raw);
        // Corrupt data is no session: cleared as well.
        if (stored && stored.expiresAt > now) continue;
        await this.remove(key.slice(`${prefix}session:`.length), userIdOf(stored));
        cleared += 1;
      }
    }
    for await (const keys of client.scanIterator({ MATCH: `${prefix}user:*`, COUNT: 500 })) {
      for (const userKey of keys) {
        const userId = Number(userKey.slice(`${prefix}user:`.length));
        const gone = await this.staleIds(userId);
        if (gone.length > 0) await this.redis.call(() => client.sRem(userKey, gone));
      }
    }
    return cleared;
  }

  /** The ids in the user's set (as destroyForUser finds them), read in one MGET; the set's stale ids drop out. */
  async listForUser(userId: number): Promise<ListedSession[]> {
    const { client } = this.redis;
    const ids = await this.redis.call(() => client.sMembers(this.userKey(userId)));
    if (ids.length === 0) return [];
    const values = await this.redis.call(() => client.mGet(ids.map((id) => this.sessionKey(id))));
    const now = this.clock.now().getTime();
    return ids.flatMap((sid, index) => {
      const raw = values[index];
      const stored = raw === null || raw === undefined ? undefined : decode(raw);
      // Over by the server's clock though Redis still holds it, or another user's (a set is only ever added to
      // with the session's own user; checked all the same): not listed.
      if (!stored || !isData(stored.data) || stored.expiresAt <= now || userIdOf(stored) !== userId) return [];
      return [{ sid, data: stored.data, expiresAt: new Date(stored.expiresAt) }];
    });
  }

  async destroyForUser(userId: number, exceptSid?: string): Promise<number> {
    const userKey = this.userKey(userId);
    const { client } = this.redis;
    // A session of this user started after this read is not ended: it began after the call. (After a password
    // change such a session carries the old password's auth hash and ends on its first request anyway.)
    const ids = (await this.redis.call(() => client.sMembers(userKey))).filter((id) => id !== exceptSid);
    if (ids.length === 0) return 0;
    const [deleted] = await this.redis.call(() =>
      client
        .multi()
        .del(ids.map((id) => this.sessionKey(id)))
        // Stale ids (sessions that expired on their own) leave the set too, without being counted.
        .sRem(userKey, ids)
        .exec(),
    );
    return Number(deleted);
  }
}
