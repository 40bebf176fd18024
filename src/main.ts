/**
 * The server's entry point: configuration → database (migrated) → session store → HTTP → wait for a signal →
 * graceful stop.
 * Every failure at start-up is one line on stderr and exit code 1: no stack dump for an operator to read.
 *
 * Only light modules are imported up front. The database layer is loaded when it is opened and the GraphQL server
 * once the database answers: a bad setting or an unreachable database is reported without first loading Apollo,
 * Express and Redis, which takes seconds on a busy machine (the start-up failures must end within 10 s).
 */
import { loadExtensions } from './auth/extensions.js';
import { configChecks } from './checks/config.js';
import { ConfigError, loadConfig, loadEnvFile, type Config } from './config/index.js';
import type { Database } from './db/database.js';
import { createLogger } from './logger.js';
import { chooseLogFormat, prettyDestination } from './pretty-log.js';
import type { RunningServer } from './server.js';
import { StartupError } from './startup-error.js';
import cluster from 'node:cluster';
import { runPrimary } from './cluster.js';

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
try {
  // The modules the settings name (AUTHENTICATION_BACKENDS=model,./backends/ldap.js ...), loaded once, before anything
  // opens: one that does not load or does not fit stops the start with one line naming the setting and the module.
  config = await loadExtensions(config);
} catch (error) {
  if (error instanceof StartupError) fail(error.message);
  throw error;
}

// Readable lines for a developer at a terminal; JSON when piped or in production (LOG_FORMAT).
const logFormat = chooseLogFormat(config.logFormat, config.nodeEnv, process.stdout.isTTY);
const logger = createLogger(config.logLevel, logFormat === 'pretty' ? prettyDestination(process.stdout) : undefined);
// Settings that break logins (anywhere) or are unsafe (in production): logged, with the id `check` reports them by.
// Once per machine: by the cluster's primary, not by each of its workers.
if (!cluster.isWorker) {
  for (const { id, level, message, hint } of configChecks(config, process.env, { deploy: config.isProduction })) {
    logger[level === 'error' ? 'error' : 'warn']({ check: id, hint }, `${id}: ${message}`);
  }
}

/**
 * A terminal's Ctrl-C reaches every process of its group, and `npm start` forwards it as well: the server gets
 * the same signal twice within milliseconds. Only a signal this long after the first means "stop now".
 */
const REPEAT_WINDOW_MS = 1000;
/** Past the drain's own limit, closing the database gets this long before the process exits anyway. */
const CLOSE_MARGIN_MS = 5000;

/** One server in this process: alone (WEB_CONCURRENCY=1) or as a cluster's worker. */
function runServer(): void {
  let database: Database | undefined;
  let server: RunningServer | undefined;
  let firstSignalAt: number | undefined;

  async function stop(): Promise<void> {
    // Bounds the whole shutdown: a pool waiting on a stuck query must not keep the process alive forever.
    setTimeout(() => {
      logger.error('shutdown did not finish in time: exiting');
      process.exit(1);
    }, config.shutdownTimeoutMs + CLOSE_MARGIN_MS).unref();
    if (server) await server.stop();
    else await database?.close();
  }

  function onSignal(signal: NodeJS.Signals): void {
    const now = Date.now();
    if (firstSignalAt !== undefined) {
      if (now - firstSignalAt < REPEAT_WINDOW_MS) return; // the same Ctrl-C, delivered twice
      logger.warn({ signal }, 'second signal: exiting now');
      process.exit(1);
    }
    firstSignalAt = now;
    logger.info({ signal }, 'shutting down: draining requests');
    // During start-up, `starting` settles first: then whatever was opened is closed.
    starting.then(stop).then(
      () => {
        logger.info('stopped');
        process.exit(0);
      },
      (error: unknown) => {
        logger.error({ err: error }, 'shutdown failed');
        process.exit(1);
      },
    );
  }
  // Installed before anything opens, so that a signal during start-up still closes the embedded database cleanly.
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);

  // A function, not an inline test: the signal handler changes firstSignalAt across each await below.
  const stopRequested = (): boolean => firstSignalAt !== undefined;

  async function start(): Promise<void> {
    // Before any login: hashing weighs less than the event loop when both want a core (thread-priority.ts).
    const { lowerThreadPoolPriority } = await import('./auth/hashers/thread-priority.js');
    const nice = config.passwords.hashingNice;
    const pool = await lowerThreadPoolPriority(nice);
    if (pool && (pool.threads === 0 || pool.atNice < pool.threads)) {
      logger.warn({ ...pool, nice }, 'PASSWORD_HASHING_NICE: some hashing threads keep their priority');
    } else if (pool) {
      logger.debug({ ...pool, nice }, 'hashing threads at a lower priority');
    }
    const { openDatabase } = await import('./db/database.js');
    if (stopRequested()) return; // asked to stop while the database layer loaded: nothing to close
    const { installedApps } = await import('./apps.js');
    database = await openDatabase(config.database, logger, { apps: installedApps(config) });
    logger.info(
      // The URL (without a password) works as DATABASE_URL and for psql: the embedded database's, while the server runs.
      { database: database.location, url: database.url },
      'database ready',
    );
    if (stopRequested()) return; // asked to stop while the database opened
    const { startServer } = await import('./server.js');
    // Loading the server takes seconds on a busy machine: a process told to stop meanwhile must not start listening.
    if (stopRequested()) return;
    server = await startServer(config, logger, database);
    logger.info({ url: `${server.url}/graphql` }, `GraphQL at ${server.url}/graphql`);
  }

  const starting = start().catch(async (error: unknown) => {
    await database?.close().catch((closeError: unknown) => {
      logger.error({ err: closeError }, 'closing the database failed');
    });
    // An unreachable database or Redis, a locked data folder; an unguarded root field, a misplaced directive, an
    // unknown permission (every one listed): the message, no stack.
    if (error instanceof StartupError) fail(error.message);
    if ((error as NodeJS.ErrnoException).code === 'EADDRINUSE') {
      fail(`PORT=${config.port} is already in use on ${config.host} (choose another, e.g. PORT=4001)`);
    }
    logger.fatal({ err: error }, 'start-up failed');
    fail(error instanceof Error ? error.message : String(error));
  });
}

if (config.webConcurrency > 1 && cluster.isPrimary) runPrimary(config, logger, fail);
else runServer();
