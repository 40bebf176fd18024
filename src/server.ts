/**
 * Starts and stops the whole server around an open database: HTTP listener, Apollo, Express.
 * Used by main.ts and by the tests, so tests run exactly what users run.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createApp } from './app.js';
import { installedApps, schemaOf } from './apps.js';
import { AuditRecorder, databaseWrite } from './audit/recorder.js';
import { createAuth } from './auth/index.js';
import { systemClock, type Clock } from './auth/clock.js';
import type { Config } from './config/index.js';
import type { Database } from './db/database.js';
import type { GraphQLSchema } from 'graphql';
import { SchemaGuardError } from './graphql/directives/index.js';
import { createApolloServer } from './graphql/server.js';
import { buildSchema, permissionProblemsIn } from './graphql/schema.js';
import type { Lifecycle } from './http/health.js';
import { InFlightRequests } from './http/in-flight.js';
import { createLockout } from './auth/lockout-from-config.js';
import { openCounters } from './stores/counters.js';
import { createStores, type Stores } from './stores/create-stores.js';
import type { Logger } from './logger.js';
import { createMailer } from './mail/index.js';
import { AccessTokens } from './auth/access-tokens.js';
import { BearerGuard } from './auth/bearer-guard.js';

/** The least time the audit log's last events get to be written at shutdown, whatever SHUTDOWN_TIMEOUT_MS says. */
const AUDIT_FLUSH_MIN_MS = 1000;

export interface RunningServer {
  /** The base URL the server listens on, e.g. http://127.0.0.1:4000 */
  readonly url: string;
  /**
   * Graceful stop: readiness turns 503, the listener closes, in-flight requests get up to
   * SHUTDOWN_TIMEOUT_MS to finish, then the session store and the database close. Safe to call twice.
   */
  stop(): Promise<void>;
}

export interface StartOptions {
  /** The executable schema; defaults to schema/ and the installed apps' (`buildSchema(schemaOf(installedApps(config)))`). */
  schema?: GraphQLSchema;
  /** The clock sessions and logins use (tests move it). */
  clock?: Clock;
  /** Stores to use instead of those SESSION_STORE names (tests instrument theirs); opened and closed here. */
  stores?: Stores;
}

export async function startServer(
  config: Config,
  logger: Logger,
  database: Database,
  { schema: givenSchema, clock = systemClock, stores: given }: StartOptions = {},
): Promise<RunningServer> {
  const schema = givenSchema ?? buildSchema(schemaOf(installedApps(config)));
  // Every permission the directives name must exist, on the model it is asked about: a typo would otherwise deny
  // (or, for a superuser, allow) silently. Checked before anything opens or listens.
  const problems = await permissionProblemsIn(database.orm.em.fork(), schema);
  if (problems.length > 0) throw new SchemaGuardError(problems);
  // Connected before anything listens: an unreachable session store stops the start (RedisUnreachableError).
  const stores = given ?? createStores(config.session, { database, clock, logger });
  const store = stores.sessions;
  await store.open();
  // Where the sessions are, on the same Redis connection when there is one.
  const counters = openCounters(database, stores.redis);
  const httpServer = http.createServer();
  const lifecycle: Lifecycle = { shuttingDown: false };
  const inFlight = new InFlightRequests();
  const apollo = createApolloServer(config, logger, schema, httpServer, inFlight);
  const mailer = createMailer(config.mail, logger);
  await apollo.start();
  const auth = createAuth(config, {
    clock,
    onListenerError: (error, event) => {
      logger.error({ err: error, event }, 'an auth event listener failed');
    },
  });
  // Why a login failed, for whoever reads the logs at debug level (the client is told only that it failed).
  auth.events.on('userLoginFailed', ({ credentials, reasons }) => {
    logger.debug(
      { credentials, reasons },
      `login failed: ${reasons.map(({ backend, reason }) => `${backend}: ${reason}`).join(', ') || 'no backend'}`,
    );
  });
  // The audit log hears every event: queued while the request is served, written by its own writer (src/audit/).
  const audit = new AuditRecorder(databaseWrite(database.orm.em), { logger, queueLimit: config.audit.queueLimit });
  audit.listen(auth.events, clock);
  const app = createApp({
    config,
    auth,
    clock,
    logger,
    database,
    sessionStore: store,
    apollo,
    lifecycle,
    mailer,
    lockout: createLockout(config, counters, clock),
    accessTokens: new AccessTokens({
      secrets: config.session.secrets,
      endWithPassword: config.accessTokens.endWithPassword,
      touchIntervalSeconds: config.session.touchIntervalSeconds,
    }),
    // Bad tokens counted per address as failed logins are (LOCKOUT_LIMIT per LOCKOUT_COOLOFF), never in PostgreSQL:
    // in Redis where the lockout's counters are, else in this process.
    bearerGuard: new BearerGuard(
      config.lockout.limit,
      config.lockout.cooloffSeconds,
      config.session.secrets.at(-1) ?? '',
      config.lockout.limit > 0
        ? counters.counterOutsideDatabase(
            { points: config.lockout.limit, duration: config.lockout.cooloffSeconds },
            'bearer',
          )
        : undefined,
    ),
  });
  httpServer.on('request', (req: http.IncomingMessage, res: http.ServerResponse) => {
    inFlight.track(res);
    app(req, res);
  });

  try {
    await new Promise<void>((resolve, reject) => {
      httpServer.once('error', reject);
      httpServer.listen(config.port, config.host, () => {
        httpServer.off('error', reject);
        resolve();
      });
    });
  } catch (error) {
    await apollo.stop();
    await audit.close(0);
    await counters.close();
    await stores.close();
    throw error;
  }
  const { port } = httpServer.address() as AddressInfo;
  const host = config.host.includes(':') ? `[${config.host}]` : config.host;

  let stopped: Promise<void> | undefined;
  return {
    url: `http://${host}:${port}`,
    stop() {
      stopped ??= (async () => {
        lifecycle.shuttingDown = true;
        try {
          // Drains the HTTP server and the requests still running (graphql/server.ts) before Apollo itself stops.
          await apollo.stop();
          // E-mails queued by the last requests still go out (each SMTP exchange is bounded).
          await mailer.close();
        } finally {
          // The audit events of the last requests are written before the database closes (for a bounded time: a
          // database that does not answer must not hold the process; what is lost is counted in the log).
          await audit.close(Math.max(AUDIT_FLUSH_MIN_MS, config.shutdownTimeoutMs));
          // After the requests that use them: then nothing can write a session or a counter any more.
          await counters.close();
          await stores.close();
          await database.close();
        }
      })();
      return stopped;
    },
  };
}
