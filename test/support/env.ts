/**
 * Names shared by the global setup and the per-file helpers. The global setup runs in Jest's parent process;
 * the environment variables it sets are inherited by the workers.
 */
import { createLogger } from '../../src/logger.js';

/** Set by the global setup: the folder of the migrated embedded template (embedded mode). */
export const TEMPLATE_DIR_VAR = 'GQLAUTH_TEST_TEMPLATE_DIR';
/** Set by the global setup: the name of the migrated template database (server mode). */
export const TEMPLATE_DB_VAR = 'GQLAUTH_TEST_TEMPLATE_DB';
/** Set by the global setup: a folder for this run's scratch files, removed by the teardown. */
export const SCRATCH_DIR_VAR = 'GQLAUTH_TEST_SCRATCH_DIR';

/** Set by the global setup: a name for this run, prefixed to every database it makes on a server. */
export const RUN_ID_VAR = 'GQLAUTH_TEST_RUN_ID';

/** A PostgreSQL server to run the suite against instead of the embedded database. */
export function serverUrl(): string | undefined {
  return process.env.TEST_DATABASE_URL || undefined;
}

/** A Redis server for the Redis session store's runs (its tests are skipped without one). */
export function redisUrl(): string | undefined {
  return process.env.TEST_REDIS_URL || undefined;
}

/** Quiet by default; TEST_LOG_LEVEL=debug shows the server's logs while a test runs. */
export const testLogger = createLogger(
  (process.env.TEST_LOG_LEVEL as Parameters<typeof createLogger>[0] | undefined) ?? 'silent',
);

export function requireVar(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set: run the tests through \`npm test\` (Jest's global setup sets it)`);
  return value;
}

/** A URL with its database name replaced. */
export function withDatabase(url: string, database: string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${database}`;
  return parsed.toString();
}
