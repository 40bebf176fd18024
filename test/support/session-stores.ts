/**
 * The session suite runs on every session store: PostgreSQL always, Redis when TEST_REDIS_URL names one (as
 * TEST_DATABASE_URL names a PostgreSQL server). Each test app gets a store that counts its writes, and a probe
 * that looks at what the store holds from outside the server: rows in gqlauth_session, or keys in Redis.
 *
 *   describeEachStore('login', (store) => {
 *     beforeAll(async () => { app = await createTestApp({ sessionStore: store }); });
 *     it('...', async () => { expect(await app.sessions.count()).toBe(1); });
 *   });
 */
import crypto from 'node:crypto';
import { describe } from '@jest/globals';
import type { SessionData } from 'express-session';
import { createClient } from 'redis';
import type { Clock } from '../../src/auth/clock.js';
import type { Config } from '../../src/config/index.js';
import type { Database } from '../../src/db/database.js';
import type { Logger } from '../../src/logger.js';
import { createStores, type Stores } from '../../src/stores/create-stores.js';
import type { SessionStore, StoredSessionData } from '../../src/stores/session-store.js';
import { redisUrl } from './env.js';

export type SessionStoreKind = 'postgres' | 'redis';

export interface SessionStoreCase {
  readonly kind: SessionStoreKind;
  /** Why this store cannot be tested in this run; undefined when it can. */
  readonly skipReason: string | undefined;
}

/** Every session store, and whether this run can test it. */
export function sessionStores(): SessionStoreCase[] {
  return [
    { kind: 'postgres', skipReason: undefined },
    {
      kind: 'redis',
      skipReason: redisUrl() ? undefined : 'TEST_REDIS_URL is not set (e.g. TEST_REDIS_URL=redis://127.0.0.1:6379)',
    },
  ];
}

/**
 * `describe(title, body)` once per session store. A store this run cannot test is a skipped describe whose title
 * says why, so the skip shows in Jest's output and counts.
 */
export function describeEachStore(title: string, body: (kind: SessionStoreKind) => void): void {
  for (const { kind, skipReason } of sessionStores()) {
    if (skipReason) {
      // Skipped only where the run has no Redis (a fresh machine: `npm test` must pass there); CI sets
      // TEST_REDIS_URL, so there this never skips. The title carries the reason into Jest's output.
      describe.skip(`${title} [${kind} store: skipped, ${skipReason}]`, () => {
        body(kind);
      });
    } else {
      describe(`${title} [${kind} store]`, () => {
        body(kind);
      });
    }
  }
}

/**
 * `describe` for tests that need the run's Redis; without TEST_REDIS_URL a skipped describe whose title says why.
 */
export function describeWithRedis(title: string, body: () => void): void {
  const reason = sessionStores().find((store) => store.kind === 'redis')?.skipReason;
  // Skipped only without TEST_REDIS_URL (a machine without Redis, where `npm test` must still pass); CI sets it.
  if (reason) describe.skip(`${title} [skipped: ${reason}]`, body);
  else describe(title, body);
}

/** The Redis of the test run; throws (naming the variable) when there is none. */
export function requireRedisUrl(): string {
  const url = redisUrl();
  if (!url) throw new Error('TEST_REDIS_URL is not set: this test needs a Redis server');
  return url;
}

/** A key prefix no other test app (in this run, or any other sharing the Redis) uses. */
export function uniqueKeyPrefix(): string {
  return `gqlauth-test-${crypto.randomBytes(6).toString('hex')}:`;
}

/** The environment that makes a server keep its sessions in the test run's Redis, under a fresh prefix. */
export function redisStoreEnv(): Record<string, string> {
  return { SESSION_STORE: 'redis', REDIS_URL: requireRedisUrl(), REDIS_KEY_PREFIX: uniqueKeyPrefix() };
}

/**
 * A session store that counts what it writes (insert, update, destroy, destroyForUser) and can hold an update or
 * insert back, to put a request's end after something else; otherwise it is the real one, which it wraps.
 */
export interface CountingStore extends SessionStore {
  readonly writes: number;
  /**
   * Holds the next write of this session id until `release()`: `reached` resolves when that write has been called,
   * i.e. the request is finishing and about to save its session.
   */
  holdNextSet(sid: string): { reached: Promise<void>; release(): void };
  /** Reads of each session id so far (getSessionAndUser). */
  readsOf(sid: string): number;
  /**
   * Runs `action` (another process ending the session, say) just before the `nth` read of this session id from now
   * on (1: the next one), then reads.
   */
  beforeRead(sid: string, nth: number, action: () => Promise<void>): void;
}

/** The counting and holding of writes. */
class CountingSessionStore implements CountingStore {
  writes = 0;
  private readonly held = new Map<string, { arrived: () => void; released: Promise<void> }>();

  constructor(private readonly store: SessionStore) {}

  holdNextSet(sid: string): { reached: Promise<void>; release(): void } {
    let arrived = (): void => undefined;
    let release = (): void => undefined;
    const reached = new Promise<void>((resolve) => {
      arrived = resolve;
    });
    const released = new Promise<void>((resolve) => {
      release = resolve;
    });
    this.held.set(sid, { arrived, released });
    return { reached, release };
  }

  /** Counts a write and runs it, after its release if it is held. */
  private async write(sid: string, run: () => Promise<void>): Promise<void> {
    this.writes += 1;
    const held = this.held.get(sid);
    if (held) {
      this.held.delete(sid);
      held.arrived();
      await held.released;
    }
    await run();
  }

  private readonly reads = new Map<string, number>();
  private readonly readHooks = new Map<string, { at: number; action: () => Promise<void> }>();

  readsOf(sid: string): number {
    return this.reads.get(sid) ?? 0;
  }

  beforeRead(sid: string, nth: number, action: () => Promise<void>): void {
    this.readHooks.set(sid, { at: this.readsOf(sid) + nth, action });
  }

  async getSessionAndUser(sid: string) {
    const count = this.readsOf(sid) + 1;
    this.reads.set(sid, count);
    const hook = this.readHooks.get(sid);
    if (hook?.at === count) {
      this.readHooks.delete(sid);
      await hook.action();
    }
    return this.store.getSessionAndUser(sid);
  }
  insert(sid: string, data: StoredSessionData, expiresAt: Date): Promise<void> {
    return this.write(sid, () => this.store.insert(sid, data, expiresAt));
  }
  update(sid: string, data: StoredSessionData, expiresAt: Date): Promise<void> {
    return this.write(sid, () => this.store.update(sid, data, expiresAt));
  }
  destroy(sid: string): Promise<void> {
    this.writes += 1;
    return this.store.destroy(sid);
  }
  listForUser(userId: number) {
    return this.store.listForUser(userId);
  }
  destroyForUser(userId: number, exceptSid?: string): Promise<number> {
    this.writes += 1;
    return this.store.destroyForUser(userId, exceptSid);
  }
  clearExpired(): Promise<number> {
    return this.store.clearExpired();
  }
  open(): Promise<void> {
    return this.store.open();
  }
  ping(): Promise<boolean> {
    return this.store.ping();
  }
  close(): Promise<void> {
    return this.store.close();
  }
}

/** The stores the configuration names, the sessions' counting their writes; not yet opened (startServer opens them). */
export function countingStores(
  config: Config,
  database: Database,
  clock: Clock,
  logger: Logger,
): Stores & { sessions: CountingStore } {
  const stores = createStores(config.session, { database, clock, logger });
  return { ...stores, sessions: new CountingSessionStore(stores.sessions), close: () => stores.close() };
}

/** What a store holds, seen from outside the server. */
export interface SessionProbe {
  /** Sessions stored (of one user, if given). */
  count(filter?: { userId?: number }): Promise<number>;
  /** Whether the session with this id is stored. */
  exists(sid: string): Promise<boolean>;
  /** Deletes every session behind the server's back. */
  clear(): Promise<void>;
  /** Releases the probe and removes whatever the test app left (its Redis keys). */
  close(): Promise<void>;
}

function newRedisClient(url: string) {
  return createClient({ url });
}
export type RedisClient = ReturnType<typeof newRedisClient>;

/** A probe of the store `config` names: SQL on the app's database, or its own connection to Redis. */
export async function sessionProbe(config: Config, database: Database): Promise<SessionProbe> {
  const { store } = config.session;
  if (store.kind === 'postgres') return postgresProbe(database);
  // The run's Redis, not REDIS_URL: a test may route the server through a proxy that it cuts.
  const redis = await connectRedis(requireRedisUrl());
  return redisProbe(redis, store.keyPrefix);
}

export async function connectRedis(url: string): Promise<RedisClient> {
  const client = newRedisClient(url);
  client.on('error', () => undefined); // failures surface as rejected commands
  await client.connect();
  return client;
}

function postgresProbe(database: Database): SessionProbe {
  const sql = <T>(query: string, params: unknown[] = []) => database.orm.em.getConnection().execute<T[]>(query, params);
  return {
    async count({ userId } = {}) {
      const rows = await sql<{ n: string }>(
        `SELECT count(*) AS n FROM gqlauth_session ${userId === undefined ? '' : 'WHERE user_id = ?'}`,
        userId === undefined ? [] : [userId],
      );
      return Number(rows[0]?.n);
    },
    async exists(sid) {
      return (await sql<{ sid: string }>('SELECT sid FROM gqlauth_session WHERE sid = ?', [sid])).length === 1;
    },
    async clear() {
      await sql('DELETE FROM gqlauth_session');
    },
    close: () => Promise.resolve(),
  };
}

/** Every key under `pattern` (a SCAN, so never blocking Redis). */
export async function keysMatching(redis: RedisClient, pattern: string): Promise<string[]> {
  const keys: string[] = [];
  for await (const batch of redis.scanIterator({ MATCH: pattern, COUNT: 1000 })) keys.push(...batch);
  return keys;
}

function redisProbe(redis: RedisClient, prefix: string): SessionProbe {
  const sessionKeys = () => keysMatching(redis, `${prefix}session:*`);
  const removeAll = async () => {
    const keys = await keysMatching(redis, `${prefix}*`);
    if (keys.length > 0) await redis.del(keys);
  };
  return {
    async count({ userId } = {}) {
      const keys = await sessionKeys();
      if (userId === undefined) return keys.length;
      // Read from the sessions themselves, not from the per-user set that the store maintains (and tests test).
      const values = await Promise.all(keys.map((key) => redis.get(key)));
      return values.filter(
        (value) => value !== null && (JSON.parse(value) as { data: SessionData }).data.userId === userId,
      ).length;
    },
    async exists(sid) {
      return (await redis.exists(`${prefix}session:${sid}`)) === 1;
    },
    clear: removeAll,
    async close() {
      try {
        await removeAll();
      } finally {
        await redis.close();
      }
    },
  };
}
