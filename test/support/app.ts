/**
 * Starts the real server (the same `startServer` that `npm start` runs) on a free port, with its own database,
 * and gives a cookie-keeping HTTP client for it. Sessions are kept in PostgreSQL, or in the run's Redis under a
 * key prefix of this app's own (`sessionStore: 'redis'`), removed when it stops.
 *
 *   const app = await createTestApp();
 *   afterAll(() => app.stop());
 *   const { body } = await app.client.graphql('{ __typename }');
 */
import type { GraphQLSchema } from 'graphql';
import { installedApps } from '../../src/apps.js';
import { systemClock, type Clock } from '../../src/auth/clock.js';
import { loadExtensions } from '../../src/auth/extensions.js';
import { loadConfig, type Config } from '../../src/config/index.js';
import { openDatabase, type Database } from '../../src/db/database.js';
import type { Logger } from '../../src/logger.js';
import { startServer } from '../../src/server.js';
import { testLogger } from './env.js';
import { createTestDatabase, type TestDatabase } from './database.js';
import { HttpClient } from './http-client.js';
import {
  countingStores,
  redisStoreEnv,
  sessionProbe,
  type CountingStore,
  type SessionProbe,
  type SessionStoreKind,
} from './session-stores.js';

export interface TestApp {
  readonly url: string;
  readonly config: Config;
  readonly database: Database;
  /** A client with its own cookie jar, like one browser. */
  readonly client: HttpClient;
  /** The server's session store (the real one, counting its writes) and what it holds, seen from outside. */
  readonly sessions: SessionProbe & { readonly store: CountingStore };
  /** Stops the server gracefully, drops its database and removes its Redis keys. */
  stop(): Promise<void>;
}

export interface TestAppOptions {
  /** Environment variables as a user would set them (NODE_ENV, SESSION_SECRET, ...). */
  env?: Record<string, string>;
  /** A schema to serve instead of the project's (e.g. `buildSchema({ typeDefs, resolvers })` with extra fields). */
  schema?: GraphQLSchema;
  /** The clock the server's sessions use. */
  clock?: Clock;
  /** Where the server logs (quiet by default). */
  logger?: Logger;
  /** Where sessions are kept: PostgreSQL (the default) or the run's Redis (TEST_REDIS_URL). `env` may override. */
  sessionStore?: SessionStoreKind;
}

/**
 * Every test's clients come from one address (127.0.0.1): the limits per client address are off unless a test sets
 * them (test/sessions/guessing.test.ts, test/sessions/reset-throttle.test.ts), so that they count what that test means.
 */
/**
 * The polls example is installed as an operator installs it (INSTALLED_APPS): the server's tests of object
 * permissions, pages and directives run on its types. `env: { INSTALLED_APPS: '' }` serves the package alone.
 */
export const POLLS_APP = { INSTALLED_APPS: './examples/polls/index.ts' };

const PER_ADDRESS_LIMITS_OFF = {
  CREDENTIAL_RATE_LIMIT: '0',
  CREDENTIAL_CONCURRENCY: '0',
  PASSWORD_RESET_ADDRESS_LIMIT: '0',
};

export async function createTestApp({
  env = {},
  schema,
  clock,
  logger = testLogger,
  sessionStore = 'postgres',
}: TestAppOptions = {}): Promise<TestApp> {
  const storeEnv = sessionStore === 'redis' ? redisStoreEnv() : {};
  const testDatabase: TestDatabase = await createTestDatabase();
  // The modules the settings name (test/extensions.test.ts) are loaded as main.ts loads them.
  const config = {
    ...(await loadExtensions(
      loadConfig({
        NODE_ENV: 'test',
        HOST: '127.0.0.1',
        PORT: '0',
        ...POLLS_APP,
        ...PER_ADDRESS_LIMITS_OFF,
        ...storeEnv,
        ...env,
      }),
    )),
    database: testDatabase.config,
  };
  let database: Database | undefined;
  let probe: SessionProbe | undefined;
  try {
    database = await openDatabase(config.database, logger, { apps: installedApps(config) });
    probe = await sessionProbe(config, database);
    const stores = countingStores(config, database, clock ?? systemClock, logger);
    const store = stores.sessions;
    const server = await startServer(config, logger, database, {
      ...(schema ? { schema } : {}),
      ...(clock ? { clock } : {}),
      stores,
    });
    const sessions = probe;
    return {
      url: server.url,
      config,
      database,
      client: new HttpClient(server.url),
      sessions: {
        store,
        count: (filter) => sessions.count(filter),
        exists: (sid) => sessions.exists(sid),
        clear: () => sessions.clear(),
        close: () => sessions.close(),
      },
      async stop() {
        try {
          await server.stop();
        } finally {
          try {
            await sessions.close();
          } finally {
            await testDatabase.drop();
          }
        }
      },
    };
  } catch (error) {
    await probe?.close();
    await database?.close();
    await testDatabase.drop();
    throw error;
  }
}
