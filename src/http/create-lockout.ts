/**
 * The lockout's counters, where the sessions are: PostgreSQL (table gqlauth_login_failure, through a small pool of
 * its own) or Redis (the session store's connection, under REDIS_KEY_PREFIX). Opened at start-up, after the session
 * store; closed after the HTTP server has drained.
 */
import pg from 'pg';
import { RateLimiterPostgres, RateLimiterRedis } from 'rate-limiter-flexible';
import { Lockout } from '../auth/lockout.js';
import type { Config } from '../config/index.js';
import type { Database } from '../db/database.js';
import type { Logger } from '../logger.js';
import { RedisSessionStore } from './redis-session-store.js';
import type { SessionStore } from './session-store.js';

export interface LockoutHandle {
  readonly lockout: Lockout;
  close(): Promise<void>;
}

/** How often expired counters are deleted from PostgreSQL (Redis expires its keys itself). */
const SWEEP_INTERVAL_MS = 5 * 60 * 1000;

/** A lockout check is on the login path: a store that does not answer fails the attempt quickly. */
const TIMEOUT_MS = 3000;

/**
 * The pool as rate-limiter-flexible uses it (`query`), with its queries sent unnamed. It names them (prepared
 * statements); the embedded database serves every connection from one backend, where a second connection
 * preparing the same name fails ("prepared statement ... already exists").
 */
function unnamedStatements(pool: pg.Pool) {
  return {
    query: (query: { text: string; values?: unknown[] }) => pool.query({ text: query.text, values: query.values }),
  };
}

export function openLockout(config: Config, database: Database, store: SessionStore, logger: Logger): LockoutHandle {
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
  const connectionString = database.embeddedUrl ?? (config.database.kind === 'server' ? config.database.url : '');
  const pool = new pg.Pool({ connectionString, max: 2, connectionTimeoutMillis: TIMEOUT_MS });
  pool.on('error', (error) => {
    logger.debug({ err: error }, 'the lockout counters (PostgreSQL): idle connection error');
  });
  const limiter = new RateLimiterPostgres({
    ...counting,
    storeClient: unnamedStatements(pool),
    storeType: 'pool',
    tableName: 'gqlauth_login_failure',
    // Made by a migration; expired rows are deleted below, on a timer this server stops.
    tableCreated: true,
    clearExpiredByTimeout: false,
  });
  const sweep = setInterval(() => {
    // A failed sweep is retried at the next one.
    pool.query('DELETE FROM gqlauth_login_failure WHERE expire < $1', [Date.now()]).catch(() => undefined);
  }, SWEEP_INTERVAL_MS).unref();
  return {
    lockout: new Lockout(limiter, config.lockout, keySecret),
    close: () => {
      clearInterval(sweep);
      return pool.end();
    },
  };
}
