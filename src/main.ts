/**
 * The server's entry point: configuration → database (migrated) → HTTP → wait for a signal → graceful stop.
 * Every failure at start-up is one line on stderr and exit code 1: no stack dump for an operator to read.
 */
import { ConfigError, loadConfig, loadEnvFile, type Config } from './config/index.js';
import { DatabaseUnreachableError, openDatabase } from './db/database.js';
import { DataDirLockedError } from './db/embedded.js';
import { createLogger } from './logger.js';
import { startServer } from './server.js';

function fail(message: string): never {
  process.stderr.write(`error: ${message}\n`);
  process.exit(1);
}

let config: Config;
try {
  loadEnvFile();
  config = loadConfig();
} catch (error) {
  // One line per bad variable, each naming it: "error: PORT="abc" is not a whole number ... (example: PORT=4000)".
  if (error instanceof ConfigError) fail(error.problems.join('\nerror: '));
  throw error;
}

const logger = createLogger(config.logLevel);

async function run(): Promise<void> {
  const database = await openDatabase(config.database, logger);
  logger.info(
    // The embedded database's URL is logged so that psql can look inside while the server runs.
    { database: database.location, ...(database.embeddedUrl ? { url: database.embeddedUrl } : {}) },
    'database ready',
  );
  const server = await startServer(config, logger, database).catch(async (error: unknown) => {
    await database.close();
    throw error;
  });
  logger.info({ url: `${server.url}/graphql` }, `GraphQL at ${server.url}/graphql`);

  let signals = 0;
  const shutdown = (signal: NodeJS.Signals): void => {
    signals += 1;
    if (signals > 1) {
      logger.warn({ signal }, 'second signal: exiting now');
      process.exit(1);
    }
    logger.info({ signal }, 'shutting down: draining requests');
    server.stop().then(
      () => {
        logger.info('stopped');
        process.exit(0);
      },
      (error: unknown) => {
        logger.error({ err: error }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', shutdown);
  process.on('SIGINT', shutdown);
}

run().catch((error: unknown) => {
  if (error instanceof DatabaseUnreachableError || error instanceof DataDirLockedError) fail(error.message);
  if ((error as NodeJS.ErrnoException).code === 'EADDRINUSE') {
    fail(`PORT=${config.port} is already in use on ${config.host} (choose another, e.g. PORT=4001)`);
  }
  logger.fatal({ err: error }, 'start-up failed');
  fail(error instanceof Error ? error.message : String(error));
});
