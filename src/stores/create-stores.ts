/**
 * The one place that picks the stores: SESSION_STORE=postgres (the default) keeps sessions and counters in the
 * database; redis keeps both in Redis, on one connection.
 */
import type { SessionConfig } from '../config/index.js';
import type { Database } from '../db/database.js';
import type { Logger } from '../logger.js';
import { PostgresSessionStore } from './postgres-session-store.js';
import { RedisConnection } from './redis-connection.js';
import { RedisSessionStore } from './redis-session-store.js';
import type { SessionStore } from './session-store.js';

export interface StoresDeps {
  database: Database;
  /** The server's clock: it, not a store's, decides when a session is over. */
  clock: { now(): Date };
  logger: Logger;
}

export interface Stores {
  readonly sessions: SessionStore;
  /** The connection the sessions and the lockout counters share; undefined when both are in PostgreSQL. */
  readonly redis: RedisConnection | undefined;
  /** Closes what `sessions.open()` opened (the Redis connection). Safe to call twice. */
  close(): Promise<void>;
}

/** The stores, not yet opened: `startServer` opens them before listening and closes them after the HTTP server drains. */
export function createStores(
  config: Pick<SessionConfig, 'store' | 'absoluteTimeoutSeconds'>,
  { database, clock, logger }: StoresDeps,
): Stores {
  const { store } = config;
  switch (store.kind) {
    case 'postgres': {
      const sessions = new PostgresSessionStore(database, clock);
      return { sessions, redis: undefined, close: () => sessions.close() };
    }
    case 'redis': {
      const redis = new RedisConnection({ url: store.url, keyPrefix: store.keyPrefix }, logger);
      const sessions = new RedisSessionStore(redis, database, clock, config.absoluteTimeoutSeconds);
      return { sessions, redis, close: () => redis.close() };
    }
  }
}
