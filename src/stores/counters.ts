/**
 * The lockout's counters (src/auth/lockout.ts), where the sessions are: PostgreSQL (table gqlauth_login_failure,
 * through the app's pool) or Redis (the connection the session store uses, under REDIS_KEY_PREFIX). Opened at
 * start-up, after the session store; closed after the HTTP server has drained.
 */
import {
  RateLimiterMemory,
  RateLimiterPostgres,
  RateLimiterRedis,
  type RateLimiterAbstract,
} from 'rate-limiter-flexible';
import type { Database } from '../db/database.js';
import { selectAll } from '../db/sql.js';
import type { RedisConnection } from './redis-connection.js';

/**
 * Gives `points` back to `key` of `limiter`, never below 0 and never making a key that has expired (the lockout's
 * `GiveBack`).
 */
export type GiveBack = (limiter: RateLimiterAbstract, key: string, points: number) => Promise<void>;

export interface Counters {
  /** A count of `points` per `duration` seconds, its keys under `name`. */
  readonly counter: (count: { points: number; duration: number }, name: string) => RateLimiterAbstract;
  /**
   * The same, never written to PostgreSQL: in Redis when the counters are there, else in this process's memory (for
   * a count that must cost the database nothing, src/auth/bearer-guard.ts).
   */
  readonly counterOutsideDatabase: (count: { points: number; duration: number }, name: string) => RateLimiterAbstract;
  readonly giveBack: GiveBack;
  /** Stops what the counters run on their own (the PostgreSQL sweep); the connection is the caller's to close. */
  readonly close: () => Promise<void>;
}

/** `GiveBack` in Redis, atomically: DECRBY floored at 0, on a key that exists, keeping its time to live. */
const REDIS_GIVE_BACK = `
local count = redis.call('get', KEYS[1])
if not count then return 0 end
local left = math.max(tonumber(count) - tonumber(ARGV[1]), 0)
redis.call('set', KEYS[1], left, 'KEEPTTL')
return left`;

/** How often expired counters are deleted from PostgreSQL (Redis expires its keys itself). */
const SWEEP_INTERVAL_MS = 5 * 60 * 1000;

/**
 * The app's own connection pool, in the shape rate-limiter-flexible's PostgreSQL store uses (`query`). Its SQL
 * numbers its parameters ($1, $4 twice ...); the ORM takes `?` in order. Through the ORM's pool, not a pool of its
 * own: the embedded database serves every connection from one backend, and two pg pools interleaving their
 * statements there fail ("prepared statement ... does not exist").
 */
function ormClient(database: Database) {
  return {
    async query({ text, values = [] }: { text: string; values?: unknown[] }) {
      const params: unknown[] = [];
      const sql = text.replace(/\$(\d+)/g, (_match, index: string) => {
        params.push(values[Number(index) - 1]);
        return '?';
      });
      const rows = await selectAll<Record<string, unknown>>(database.orm.em.fork(), sql, params);
      return { rows, rowCount: rows.length };
    },
  };
}

/**
 * Counters in Redis when there is a connection to it (SESSION_STORE=redis), else in PostgreSQL, with their store's
 * give-back; in PostgreSQL, a timer that deletes expired rows.
 */
export function openCounters(database: Database, redis: RedisConnection | undefined): Counters {
  if (redis) {
    // The sessions' own connection: one connection to heal after an outage or a half-open socket, and every
    // command bounded in time (a stuck lockout check would hold the login forever).
    const client = redis.sharedClient();
    const counter = (count: { points: number; duration: number }, name: string) =>
      new RateLimiterRedis({
        ...count,
        storeClient: client,
        useRedisPackage: true,
        keyPrefix: `${redis.keyPrefix}${name}`,
      });
    return {
      counter,
      counterOutsideDatabase: counter,
      // The count as it is, less `points`, never below 0, and only if the key still lives (its time to live kept).
      giveBack: async (limiter, key, points) => {
        await client.eval(REDIS_GIVE_BACK, { keys: [limiter.getKey(key)], arguments: [String(points)] });
      },
      close: () => Promise.resolve(),
    };
  }
  const client = ormClient(database);
  const sweep = setInterval(() => {
    // A failed sweep is retried at the next one.
    client
      .query({ text: 'DELETE FROM gqlauth_login_failure WHERE expire < $1', values: [Date.now()] })
      .catch(() => undefined);
  }, SWEEP_INTERVAL_MS).unref();
  return {
    counter: (count, name) =>
      new RateLimiterPostgres({
        ...count,
        storeClient: client,
        storeType: 'pool',
        tableName: 'gqlauth_login_failure',
        keyPrefix: name,
        // Made by a migration; expired rows are deleted by the sweep, on a timer the server stops.
        tableCreated: true,
        clearExpiredByTimeout: false,
      }),
    counterOutsideDatabase: (count, name) => new RateLimiterMemory({ ...count, keyPrefix: name }),
    // Only a row that still lives, never below 0 (GREATEST), in one statement.
    giveBack: async (limiter, key, points) => {
      await client.query({
        text: 'UPDATE gqlauth_login_failure SET points = GREATEST(points - $1, 0) WHERE key = $2 AND expire > $3',
        values: [points, limiter.getKey(key), Date.now()],
      });
    },
    close: () => {
      clearInterval(sweep);
      return Promise.resolve();
    },
  };
}
