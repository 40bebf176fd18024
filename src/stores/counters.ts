/**
 * The lockout's counters, where the sessions are: PostgreSQL (table gqlauth_login_failure, through the app's pool)
 * or Redis (the session store's connection, under REDIS_KEY_PREFIX). Opened at start-up, after the session
 * store; closed after the HTTP server has drained.
 */
import { RateLimiterPostgres, RateLimiterRedis, type RateLimiterAbstract } from 'rate-limiter-flexible';
import type { Clock } from '../auth/clock.js';
import { DeviceCookies } from '../auth/device-cookie.js';
import { Lockout, type GiveBack } from '../auth/lockout.js';
import type { Config } from '../config/index.js';
import type { Database } from '../db/database.js';
import { selectAll } from '../db/sql.js';
import { RedisSessionStore } from './redis-session-store.js';
import type { SessionStore } from './session-store.js';

export interface LockoutHandle {
  readonly lockout: Lockout;
  close(): Promise<void>;
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

export function openLockout(config: Config, database: Database, store: SessionStore, clock: Clock): LockoutHandle {
  const { limit, cooloffSeconds, accountLimit, accountWindowSeconds, addressLimit, addressWindowSeconds } =
    config.lockout;
  const { resetEmailLimit, resetAddressLimit, resetWindowSeconds, addressConcurrency } = config.lockout;
  // Named with the oldest secret: a rotation puts the new secret first and keeps the old one meanwhile, so that the
  // counts (and locks) outlive it until the old secret is dropped; then they start again.
  const keySecret = config.session.secrets.at(-1) ?? '';
  const devices = new DeviceCookies(config.session.secrets, config.lockout.deviceCookieAgeSeconds, clock);
  // Each count is remembered for its window; a count whose limit is 0 is off.
  const counts = {
    attempts: limit > 0 ? { points: limit, duration: cooloffSeconds } : undefined,
    account: accountLimit > 0 ? { points: accountLimit, duration: accountWindowSeconds } : undefined,
    address: addressLimit > 0 ? { points: addressLimit, duration: addressWindowSeconds } : undefined,
    // Places held only while a check runs (given back if it fails too); the window bounds how long a place left by
    // a process that died mid-check stays taken.
    addressInFlight: addressConcurrency > 0 ? { points: addressConcurrency, duration: 60 } : undefined,
    resetEmail: resetEmailLimit > 0 ? { points: resetEmailLimit, duration: resetWindowSeconds } : undefined,
    resetAddress: resetAddressLimit > 0 ? { points: resetAddressLimit, duration: resetWindowSeconds } : undefined,
  };
  const { counter, giveBack, sweep } = openCounters(database, store);
  const limiters = {
    attempts: counts.attempts && counter(counts.attempts, 'lockout'),
    account: counts.account && counter(counts.account, 'lockout-account'),
    address: counts.address && counter(counts.address, 'lockout-address'),
    addressInFlight: counts.addressInFlight && counter(counts.addressInFlight, 'lockout-in-flight'),
    resetEmail: counts.resetEmail && counter(counts.resetEmail, 'reset-email'),
    resetAddress: counts.resetAddress && counter(counts.resetAddress, 'reset-address'),
  };
  return {
    lockout: new Lockout({ ...limiters, giveBack }, config.lockout, keySecret, devices),
    close: () => {
      if (sweep) clearInterval(sweep);
      return Promise.resolve();
    },
  };
}

/** Counts where the sessions are, and their store's give-back; in PostgreSQL, a timer that deletes expired rows. */
export function openCounters(
  database: Database,
  store: SessionStore,
): {
  counter: (count: { points: number; duration: number }, name: string) => RateLimiterAbstract;
  giveBack: GiveBack;
  sweep?: NodeJS.Timeout;
} {
  if (store instanceof RedisSessionStore) {
    // The session store's own connection: one connection to heal after an outage or a half-open socket, and every
    // command bounded in time (a stuck lockout check would hold the login forever).
    const client = store.sharedClient();
    return {
      counter: (count, name) =>
        new RateLimiterRedis({
          ...count,
          storeClient: client,
          useRedisPackage: true,
          keyPrefix: `${store.keyPrefix}${name}`,
        }),
      // The count as it is, less `points`, never below 0, and only if the key still lives (its time to live kept).
      giveBack: async (limiter, key, points) => {
        await client.eval(REDIS_GIVE_BACK, { keys: [limiter.getKey(key)], arguments: [String(points)] });
      },
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
    // Only a row that still lives, never below 0 (GREATEST), in one statement.
    giveBack: async (limiter, key, points) => {
      await client.query({
        text: 'UPDATE gqlauth_login_failure SET points = GREATEST(points - $1, 0) WHERE key = $2 AND expire > $3',
        values: [points, limiter.getKey(key), Date.now()],
      });
    },
    sweep,
  };
}
