/**
 * The lockout's counters, where the sessions are: PostgreSQL (table gqlauth_login_failure, through the app's pool)
 * or Redis (the session store's connection, under REDIS_KEY_PREFIX). Opened at start-up, after the session
 * store; closed after the HTTP server has drained.
 */
import { RateLimiterPostgres, RateLimiterRedis, type RateLimiterAbstract } from 'rate-limiter-flexible';
import type { Clock } from '../auth/clock.js';
import { DeviceCookies } from '../auth/device-cookie.js';
import { Lockout } from '../auth/lockout.js';
import type { Config } from '../config/index.js';
import type { Database } from '../db/database.js';
import { selectAll } from '../db/sql.js';
import { RedisSessionStore } from './redis-session-store.js';
import type { SessionStore } from './session-store.js';

export interface LockoutHandle {
  readonly lockout: Lockout;
  close(): Promise<void>;
}

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
  // Rotating SESSION_SECRET starts every count again: harmless, and no key outlives the secret that made it.
  const keySecret = config.session.secrets[0] ?? '';
  const devices = new DeviceCookies(config.session.secrets, config.lockout.deviceCookieAgeSeconds, clock);
  // Each count is remembered for its window; a count whose limit is 0 is off.
  const counts = {
    attempts: limit > 0 ? { points: limit, duration: cooloffSeconds } : undefined,
    account: accountLimit > 0 ? { points: accountLimit, duration: accountWindowSeconds } : undefined,
    address: addressLimit > 0 ? { points: addressLimit, duration: addressWindowSeconds } : undefined,
    // Places held only while a check runs; the window only bounds how long a place left by a dead process stays.
    addressInFlight: addressConcurrency > 0 ? { points: addressConcurrency, duration: 60 } : undefined,
    resetEmail: resetEmailLimit > 0 ? { points: resetEmailLimit, duration: resetWindowSeconds } : undefined,
    resetAddress: resetAddressLimit > 0 ? { points: resetAddressLimit, duration: resetWindowSeconds } : undefined,
  };
  const open = (make: (count: { points: number; duration: number }, name: string) => RateLimiterAbstract) => ({
    attempts: counts.attempts && make(counts.attempts, 'lockout'),
    account: counts.account && make(counts.account, 'lockout-account'),
    address: counts.address && make(counts.address, 'lockout-address'),
    addressInFlight: counts.addressInFlight && make(counts.addressInFlight, 'lockout-in-flight'),
    resetEmail: counts.resetEmail && make(counts.resetEmail, 'reset-email'),
    resetAddress: counts.resetAddress && make(counts.resetAddress, 'reset-address'),
  });
  if (store instanceof RedisSessionStore) {
    // The session store's own connection: one connection to heal after an outage or a half-open socket, and every
    // command bounded in time (a stuck lockout check would hold the login forever).
    const limiters = open(
      (count, name) =>
        new RateLimiterRedis({
          ...count,
          storeClient: store.sharedClient(),
          useRedisPackage: true,
          keyPrefix: `${store.keyPrefix}${name}`,
        }),
    );
    return { lockout: new Lockout(limiters, config.lockout, keySecret, devices), close: () => Promise.resolve() };
  }
  const client = ormClient(database);
  const limiters = open(
    (count, name) =>
      new RateLimiterPostgres({
        ...count,
        storeClient: client,
        storeType: 'pool',
        tableName: 'gqlauth_login_failure',
        keyPrefix: name,
        // Made by a migration; expired rows are deleted below, on a timer this server stops.
        tableCreated: true,
        clearExpiredByTimeout: false,
      }),
  );
  const sweep = setInterval(() => {
    // A failed sweep is retried at the next one.
    client
      .query({ text: 'DELETE FROM gqlauth_login_failure WHERE expire < $1', values: [Date.now()] })
      .catch(() => undefined);
  }, SWEEP_INTERVAL_MS).unref();
  return {
    lockout: new Lockout(limiters, config.lockout, keySecret, devices),
    close: () => {
      clearInterval(sweep);
      return Promise.resolve();
    },
  };
}
