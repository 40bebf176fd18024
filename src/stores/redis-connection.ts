/**
 * Sessions in Redis (SESSION_STORE=redis), through node-redis. Two kinds of keys, both under REDIS_KEY_PREFIX:
 *
 *   <prefix>session:<sid>   a string: JSON {"expiresAt": epoch ms, "data": the session}, expiring on its own (PX)
 *   <prefix>user:<userId>   a set: the ids of that user's sessions, for logoutOtherSessions and password changes
 *
 * The same guarantees as the PostgreSQL store: only a freshly issued id is inserted (SET NX), every other write
 * only updates a session that still exists (SET XX); expiry is decided with the server's clock; a user's sessions
 * can all be ended but one. A session key and its user's set change together, in one MULTI.
 *
 * While Redis is unreachable, every store call fails at once (the request answers SERVICE_UNAVAILABLE) and the
 * client reconnects by itself; at start-up, an unreachable Redis stops the server before it listens.
 */
import type { SessionData } from 'express-session';
import { createClient } from 'redis';
import type { Clock } from '../auth/clock.js';
import { outsideRequest, type Logger } from '../logger.js';
import { CORRUPT, SessionStore, isSessionData, type Callback, type SessionTimeouts } from './session-store.js';
import './session-data.js';
import { StartupError } from '../startup-error.js';

/** Longest wait for Redis at start-up: the TCP connection, then its first answers. */
const CONNECT_TIMEOUT_MS = 5000;
/** Longest wait for one store operation: a Redis that stopped answering must not hold requests open. */
const COMMAND_TIMEOUT_MS = 3000;
/** Longest wait for /readyz's PING. */
const PING_TIMEOUT_MS = 2000;
/** Longest pause between two reconnection attempts while Redis is away. */
const MAX_RECONNECT_DELAY_MS = 2000;

export interface RedisStoreOptions {
  /** redis:// or rediss:// (REDIS_URL). */
  readonly url: string;
  /** Prepended to every key (REDIS_KEY_PREFIX). */
  readonly keyPrefix: string;
}

/** Redis could not be reached at start-up. Its message is one line meant for an operator. */
export class RedisUnreachableError extends StartupError {
  constructor(
    readonly location: string,
    readonly reason: string,
  ) {
    super(`cannot reach Redis at ${location} (REDIS_URL): ${reason}`);
    this.name = 'RedisUnreachableError';
  }
}

/** A store call made while the connection to Redis is down. */
export class RedisOfflineError extends Error {
  constructor() {
    super('Redis is not connected (reconnecting)');
    this.name = 'RedisOfflineError';
  }
}

interface StoredSession {
  /** When the session ends, by the server's clock (epoch ms). */
  readonly expiresAt: number;
  /** Checked by SessionStore.get (isSessionData) before anything uses it. */
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

/** The user a stored session belongs to, if it says so. */
function userIdOf(stored: StoredSession | undefined): number | undefined {
  const data = stored?.data;
  return isSessionData(data) ? data.userId : undefined;
}

export class RedisSessionStore extends SessionStore {
  private client: ReturnType<RedisSessionStore['newClient']>;
  /** Whether a new connection is being opened to replace one that stopped answering. */
  private replacing = false;
  /** Set once the first connection is up: from then on a lost connection is retried, never given up. */
  private connectedOnce = false;
  /** Whether an outage has been logged and its end not yet. */
  private down = false;
  private closed: Promise<void> | undefined;

  constructor(
    private readonly options: RedisStoreOptions,
    timeouts: SessionTimeouts,
    clock: Clock,
    private readonly logger: Logger,
  ) {
    super(timeouts, clock);
    this.client = this.newClient();
  }

  /** A client with this store's options and listeners (also used to replace one that stopped answering). */
  private newClient() {
    const client = createClient({
      url: this.options.url,
      // While Redis is away, commands fail at once (SERVICE_UNAVAILABLE, no cookie) instead of waiting in a queue
      // until it returns, holding every request open.
      disableOfflineQueue: true,
      socket: {
        connectTimeout: CONNECT_TIMEOUT_MS,
        // At start-up the first failure is final: the server must not listen without its session store. Once
        // connected, a lost connection is retried forever (backing off to 2 s), so the server heals by itself.
        reconnectStrategy: (retries, cause) =>
          this.connectedOnce ? Math.min(50 * 2 ** retries, MAX_RECONNECT_DELAY_MS) : cause,
      },
    });
    // Always listened to: an 'error' event without a listener is thrown, and would crash the whole process.
    client.on('error', (error: unknown) => {
      // Start-up failures are reported by `open`, as one line; only an outage of a running server is logged here.
      if (!this.connectedOnce || this.down) return;
      this.down = true;
      this.logger.error({ err: error }, 'the Redis session store is unreachable: reconnecting');
    });
    client.on('ready', () => {
      this.connectedOnce = true;
      if (!this.down) return;
      this.down = false;
      this.logger.info('the Redis session store is reachable again');
    });
    return client;
  }

  /**
   * Redis did not answer on a connection node-redis still believes open (a half-open connection: a firewall or NAT
   * that forgot it). node-redis would wait for the kernel to notice, which takes minutes: open a new connection now.
   */
  private replaceClient(): void {
    if (this.replacing || this.closed) return;
    this.replacing = true;
    this.logger.error('the Redis session store did not answer in time: opening a new connection');
    const stale = this.client;
    // The connection serves every later request: its events are no request's (outsideRequest).
    outsideRequest(() => {
      this.client = this.newClient();
      stale.destroy();
      this.client
        .connect()
        .catch(() => undefined) // reported by the 'error' listener; reconnection goes on by itself
        .finally(() => {
          this.replacing = false;
        });
    });
  }

  /** Prepended to every key of this store (REDIS_KEY_PREFIX); others sharing the connection use it too. */
  get keyPrefix(): string {
    return this.options.keyPrefix;
  }

  private sessionKey(sid: string): string {
    return `${this.options.keyPrefix}session:${sid}`;
  }

  private userKey(userId: number): string {
    return `${this.options.keyPrefix}user:${userId}`;
  }

  override async open(): Promise<void> {
    this.logger.debug({ redis: describeRedisUrl(this.options.url) }, 'connecting to Redis');
    try {
      await withTimeout(this.client.connect(), CONNECT_TIMEOUT_MS, `no answer within ${CONNECT_TIMEOUT_MS} ms`);
    } catch (error) {
      this.client.destroy();
      throw new RedisUnreachableError(describeRedisUrl(this.options.url), explainRedisError(error));
    }
  }

  override async ping(): Promise<boolean> {
    if (!this.client.isReady) return false;
    try {
      await withTimeout(this.client.ping(), PING_TIMEOUT_MS, 'PING timed out');
      return true;
    } catch (error) {
      if (error instanceof CommandTimeoutError) this.replaceClient();
      return false;
    }
  }

  override close(): Promise<void> {
    this.closed ??= (async () => {
      if (!this.client.isOpen) return;
      try {
        // The HTTP server has drained: nothing should be pending, but what is gets its answer.
        await withTimeout(this.client.close(), COMMAND_TIMEOUT_MS, 'close timed out');
      } catch {
        this.client.destroy();
      }
    })();
    return this.closed;
  }

  /**
   * This store's connection, for what is kept beside the sessions (the lockout counters, through
   * rate-limiter-flexible): always the current connection (a half-open one is replaced, see replaceClient), and
   * every command, MULTI included, goes through `call`: refused at once while offline, bounded in time.
   */
  sharedClient(): RedisSessionStore['client'] {
    const bounded = <T extends object>(target: () => T): T =>
      new Proxy({} as T, {
        get: (_shell, property) => {
          const current = target();
          const value: unknown = Reflect.get(current, property);
          if (typeof value !== 'function') return value;
          if (property === 'multi') return (...args: unknown[]) => chain(Reflect.apply(value, current, args) as object);
          // Sent only through `call`: while offline it refuses before the command exists, so no promise of
          // node-redis's is left rejected with nobody listening (that would end the process).
          return (...args: unknown[]) => this.call(() => Promise.resolve(Reflect.apply(value, current, args)));
        },
      });
    // A MULTI's builder: its commands chain (returning the builder) and only `exec` talks to Redis.
    const chain = <T extends object>(builder: T): T => {
      const proxy: T = new Proxy(builder, {
        get: (target, property) => {
          const value: unknown = Reflect.get(target, property);
          if (typeof value !== 'function') return value;
          return (...args: unknown[]) => {
            if (property === 'exec') return this.call(() => Reflect.apply(value, target, args) as Promise<unknown>);
            const result: unknown = Reflect.apply(value, target, args);
            return result === target ? proxy : result;
          };
        },
      });
      return proxy;
    };
    return bounded(() => this.client);
  }

  /** Runs one store operation: at once an error while disconnected, and bounded in time. */
  private call<T>(operation: () => Promise<T>): Promise<T> {
    // node-redis refuses single commands while offline, but queues a MULTI until its next connection attempt (up
    // to 2 s away): refuse everything here, so that no request waits on an outage.
    if (!this.client.isReady) return Promise.reject(new RedisOfflineError());
    return withTimeout(operation(), COMMAND_TIMEOUT_MS, `Redis did not answer within ${COMMAND_TIMEOUT_MS} ms`).catch(
      (error: unknown) => {
        if (error instanceof CommandTimeoutError) this.replaceClient();
        throw error;
      },
    );
  }

  protected override async read(sid: string): Promise<unknown> {
    const raw = await this.call(() => this.client.get(this.sessionKey(sid)));
    if (raw === null) return null;
    const stored = decode(raw);
    if (!stored) return CORRUPT;
    if (stored.expiresAt <= this.clock.now().getTime()) {
      // Over by the server's clock though Redis still holds it (clocks differ; tests move time): ended for good.
      await this.remove(sid, userIdOf(stored));
      return null;
    }
    return stored.data;
  }

  override set(sid: string, data: SessionData, callback?: Callback): void {
    this.write(sid, data).then(
      () => callback?.(),
      (error: unknown) => callback?.(error),
    );
  }

  private async write(sid: string, data: SessionData): Promise<void> {
    const insert = this.takeInsert(sid);
    const expiresAt = this.expiresAt(data).getTime();
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
    const transaction = this.client.multi().set(this.sessionKey(sid), JSON.stringify(stored), {
      expiration: { type: 'PX', value: ttl },
      // NX: only a freshly issued id (allowInsert) creates a session. XX: any other write only updates a session
      // that still exists, so a request still in flight when its session was logged out cannot resurrect it.
      condition: insert ? 'NX' : 'XX',
    });
    if (userId !== undefined) {
      const userKey = this.userKey(userId);
      transaction.sAdd(userKey, sid);
      if (stale.length > 0) transaction.sRem(userKey, stale);
      // The set outlives every session in it (none lasts longer than the absolute timeout from now), so that
      // logoutOtherSessions and password changes always find them all.
      transaction.pExpire(userKey, Math.max(ttl, this.timeouts.absoluteTimeoutSeconds * 1000));
    }
    // SET answers null when its condition failed (node-redis's types omit that null).
    const [written]: unknown[] = await this.call(() => transaction.exec());
    // A fresh id taken already: 192 random bits make that impossible unless something is badly wrong.
    if (insert && written !== 'OK') throw new Error('a new session id is already in use');
  }

  /** The ids in a user's set whose session key no longer exists (expired, or ended). */
  private async staleIds(userId: number): Promise<string[]> {
    const ids = await this.call(() => this.client.sMembers(this.userKey(userId)));
    if (ids.length === 0) return [];
    const exists = await this.call(() => Promise.all(ids.map((id) => this.client.exists(this.sessionKey(id)))));
    return ids.filter((_id, index) => exists[index] === 0);
  }

  override destroy(sid: string, callback?: Callback): void {
    this.end(sid).then(
      () => callback?.(),
      (error: unknown) => callback?.(error),
    );
  }

  private async end(sid: string): Promise<void> {
    const raw = await this.call(() => this.client.get(this.sessionKey(sid)));
    await this.remove(sid, raw === null ? undefined : userIdOf(decode(raw)));
  }

  /** Deletes a session key and its id in the user's set, together. */
  private async remove(sid: string, userId: number | undefined): Promise<void> {
    const transaction = this.client.multi().del(this.sessionKey(sid));
    if (userId !== undefined) transaction.sRem(this.userKey(userId), sid);
    await this.call(() => transaction.exec());
  }

  /**
   * Redis drops expired keys itself; this deletes those the server's clock says are over (its own clock may run
   * ahead of Redis's TTLs) and prunes the ids of vanished sessions from the users' sets. SCAN, never KEYS: Redis is
   * not blocked however many sessions there are.
   */
  async clearExpired(): Promise<number> {
    const now = this.clock.now().getTime();
    let cleared = 0;
    for await (const keys of this.client.scanIterator({ MATCH: `${this.options.keyPrefix}session:*`, COUNT: 500 })) {
      for (const key of keys) {
        const raw = await this.call(() => this.client.get(key));
        if (raw === null) continue;
        const stored = decode(raw);
        // Corrupt data is no session: cleared as well.
        if (stored && stored.expiresAt > now) continue;
        await this.remove(key.slice(`${this.options.keyPrefix}session:`.length), userIdOf(stored));
        cleared += 1;
      }
    }
    for await (const keys of this.client.scanIterator({ MATCH: `${this.options.keyPrefix}user:*`, COUNT: 500 })) {
      for (const userKey of keys) {
        const userId = Number(userKey.slice(`${this.options.keyPrefix}user:`.length));
        const gone = await this.staleIds(userId);
        if (gone.length > 0) await this.call(() => this.client.sRem(userKey, gone));
      }
    }
    return cleared;
  }

  async destroyForUser(userId: number, exceptSid?: string): Promise<number> {
    const userKey = this.userKey(userId);
    // A session of this user started after this read is not ended: it began after the call. (After a password
    // change such a session carries the old password's auth hash and ends on its first request anyway.)
    const ids = (await this.call(() => this.client.sMembers(userKey))).filter((id) => id !== exceptSid);
    if (ids.length === 0) return 0;
    const [deleted] = await this.call(() =>
      this.client
        .multi()
        .del(ids.map((id) => this.sessionKey(id)))
        // Stale ids (sessions that expired on their own) leave the set too, without being counted.
        .sRem(userKey, ids)
        .exec(),
    );
    return Number(deleted);
  }
}

/** Redis did not answer in time. */
class CommandTimeoutError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CommandTimeoutError';
  }
}

/** Races `promise` against a timer; the loser's outcome is ignored (never an unhandled rejection). */
function withTimeout<T>(promise: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => {
      reject(new CommandTimeoutError(message));
    }, ms);
  });
  promise.catch(() => undefined);
  return Promise.race([promise, timeout]).finally(() => {
    clearTimeout(timer);
  });
}

/** REDIS_URL as an operator may see it: its password, if any, replaced by ***. */
export function describeRedisUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return '(unparseable REDIS_URL)';
  }
}

/** Turns a node-redis connection error into a short reason an operator can act on. */
export function explainRedisError(error: unknown): string {
  // When the reconnect strategy gives up, node-redis wraps the socket's own error.
  const cause = (error as { socketError?: unknown } | undefined)?.socketError ?? error;
  const { code, message } = (cause ?? {}) as { code?: string; message?: string };
  switch (code) {
    case 'ECONNREFUSED':
      return 'connection refused (is Redis running and listening on that port?)';
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return 'host name not found';
    case 'ETIMEDOUT':
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
      return `host unreachable (${code})`;
  }
  const text = message ?? 'unknown error';
  if (/^(WRONGPASS|NOAUTH)/.test(text)) return 'authentication failed (check the user and password in REDIS_URL)';
  if (/timeout/i.test(text)) return `no answer within ${CONNECT_TIMEOUT_MS} ms`;
  return text.split('\n')[0] ?? text;
}
