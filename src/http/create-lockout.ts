/**
 * The lockout's counters, where the sessions are: PostgreSQL (table gqlauth_login_failure, through the app's pool)
 * or Redis (the session store's connection, under REDIS_KEY_PREFIX). Opened at start-up, after the session
 * store; closed after the HTTP server has drained.
 */
import { RateLimiterPostgres, RateLimiterRedis } from 'rate-limiter-flexible';
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

export function openLockout(config: Config, database: Database, store: SessionStore): LockoutHandle {
  const { limit, cooloffSeconds } = config.lockout;
  // Rotating SESSION_SECRET starts every count again: harmless, and no key outlives the secret that made it.
  const keySecret = config.session.secrets[0] ?? '';
  if (limit === 0) return { lockout: new Lockout(undefined, config.lockout, ''), close: () => Promise.resolve() };
  // Failures are remembered for the cool-off; `limit` of them within it locks.
  const counting = { points: limit, duration: cooloffSeconds };
  if (store instanceof RedisSessionStore) {
    // The session store's own connection: one connection to heal after an outage or a half-open socket, and every
    // command bounded in time (a stuck lockout check would hold the login forever).
    const limiter = new RateLimiterRedis({
      ...counting,
      storeClient: store.sharedClient(),
      useRedisPackage: true,
      keyPrefix: `${store.keyPrefix}lockout`,
    });
    return { lockout: new Lockout(limiter, config.lockout, keySecret), close: () => Promise.resolve() };
  }
  const client = ormClient(database);
  const limiter = new RateLimiterPostgres({
    ...counting,
    storeClient: client,
    storeType: 'pool',
    tableName: 'gqlauth_login_failure',
    // Made by a migration; expired rows are deleted below, on a timer this server stops.
    tableCreated: true,
    clearExpiredByTimeout: false,
  });
  const sweep = setInterval(() => {
    // A failed sweep is retried at the next one.
    client
      .query({ text: 'DELETE FROM gqlauth_login_failure WHERE expire < $1', values: [Date.now()] })
      .catch(() => undefined);
  }, SWEEP_INTERVAL_MS).unref();
  return {
    lockout: new Lockout(limiter, config.lockout, keySecret),
    close: () => {
      clearInterval(sweep);
      return Promise.resolve();
    },
  };
}
