/**
 * Starts the real server (the same `startServer` that `npm start` runs) on a free port, with its own database,
 * and gives a cookie-keeping HTTP client for it.
 *
 *   const app = await createTestApp();
 *   afterAll(() => app.stop());
 *   const { body } = await app.client.graphql('{ __typename }');
 */
import type { GraphQLSchema } from 'graphql';
import type { Clock } from '../../src/auth/clock.js';
import { loadConfig, type Config } from '../../src/config/index.js';
import { openDatabase, type Database } from '../../src/db/database.js';
import type { Logger } from '../../src/logger.js';
import { startServer } from '../../src/server.js';
import { testLogger } from './env.js';
import { createTestDatabase, type TestDatabase } from './database.js';
import { HttpClient } from './http-client.js';

export interface TestApp {
  readonly url: string;
  readonly config: Config;
  readonly database: Database;
  /** A client with its own cookie jar, like one browser. */
  readonly client: HttpClient;
  /** Stops the server gracefully and drops its database. */
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
}

export async function createTestApp({
  env = {},
  schema,
  clock,
  logger = testLogger,
}: TestAppOptions = {}): Promise<TestApp> {
  const testDatabase: TestDatabase = await createTestDatabase();
  const config = {
    ...loadConfig({ NODE_ENV: 'test', HOST: '127.0.0.1', PORT: '0', ...env }),
    database: testDatabase.config,
  };
  let database: Database | undefined;
  try {
    database = await openDatabase(config.database, logger);
    const server = await startServer(config, logger, database, {
      ...(schema ? { schema } : {}),
      ...(clock ? { clock } : {}),
    });
    return {
      url: server.url,
      config,
      database,
      client: new HttpClient(server.url),
      async stop() {
        try {
          await server.stop();
        } finally {
          await testDatabase.drop();
        }
      },
    };
  } catch (error) {
    await database?.close();
    await testDatabase.drop();
    throw error;
  }
}
