/** The one place that picks the session store: SESSION_STORE=postgres (the default) or redis. */
import type { Clock } from '../auth/clock.js';
import type { SessionConfig } from '../config/index.js';
import type { Database } from '../db/database.js';
import type { Logger } from '../logger.js';
import { RedisSessionStore } from './redis-session-store.js';
import { PostgresSessionStore, type SessionStore } from './session-store.js';

export interface SessionStoreDeps {
  database: Database;
  clock: Clock;
  logger: Logger;
}

/** A store, not yet opened: `startServer` opens it before listening and closes it after the HTTP server drains. */
export function createSessionStore(config: SessionConfig, { database, clock, logger }: SessionStoreDeps): SessionStore {
  const { store } = config;
  switch (store.kind) {
    case 'postgres':
      return new PostgresSessionStore(database, config, clock);
    case 'redis':
      return new RedisSessionStore({ url: store.url, keyPrefix: store.keyPrefix }, config, clock, logger);
  }
}
