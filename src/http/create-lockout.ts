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
  if (limit === 0) return { lockout: new Lockout(undefined, config.lockout), close: () => Promise.resolve() };
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
    return { lockout: new Lockout(limiter, config.lockout), close: () => Promise.resolve() };
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
    // Made by a migration. Rows expired for an hour are deleted every 5 minutes (an unref'd timer).
    tableCreated: true,
    clearExpiredByTimeout: true,
  });
  return { lockout: new Lockout(limiter, config.lockout), close: () => pool.end() };
}
