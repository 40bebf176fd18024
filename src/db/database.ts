/**
 * Opens the database the configuration names: a PostgreSQL server (DATABASE_URL) or the embedded one
 * (DATA_DIR). Checks that it answers, runs pending migrations when asked, and gives back one handle that
 * closes everything it opened, in order.
 */
import type { EntitySchema, MigrationObject, MikroORM } from '@mikro-orm/core';
import { MikroORM as PostgreSqlMikroORM, type PostgreSqlDriver } from '@mikro-orm/postgresql';
import type { DatabaseConfig } from '../config/index.js';
import type { Logger } from '../logger.js';
import pg from 'pg';
import { ormOptionsWith, plainColumns, type DatabaseApp } from './orm-options.js';
import { authModels, serverModels, syncContentTypes, type ModelDefinition } from './content-types.js';
import { ormLogger } from './orm-logger.js';
import { PipelinedConnection } from './pipeline.js';
import { pipelineNamedStatements } from './sql.js';
import type { EmbeddedPostgres } from './embedded.js';
import { StartupError } from '../startup-error.js';
import { explainSocketError, firstLineOf } from './socket-errors.js';

export interface Database {
  readonly orm: MikroORM<PostgreSqlDriver>;
  /** Where the data is, for log lines: `host:port/db` or the embedded folder. Never contains a password. */
  readonly location: string;
  /** The embedded database's `postgres://` URL (loopback, no password), or undefined on a server. */
  readonly embeddedUrl: string | undefined;
  /** A `postgres://` URL of this database without its password, for log lines: DATABASE_URL accepts it as it is. */
  readonly url: string;
  /** On a server, the connection the named statements every request runs go over (src/db/pipeline.ts). */
  readonly pipeline: PipelinedConnection | undefined;
  /** Applies pending migrations, all in one transaction; returns the names applied. */
  migrate(): Promise<string[]>;
  /** True while the database answers a trivial query within `timeoutMs`. Never throws. */
  ping(timeoutMs?: number): Promise<boolean>;
  /** Closes the pipelined connection and the pool, then the embedded database if there is one. Safe to call twice. */
  close(): Promise<void>;
}

/** The database could not be reached at start-up. Its message is one line meant for an operator. */
export class DatabaseUnreachableError extends StartupError {
  constructor(
    readonly location: string,
    readonly reason: string,
  ) {
    super(`cannot reach the database at ${location}: ${reason}`);
    this.name = 'DatabaseUnreachableError';
  }
}

/**
 * DATABASE_URL names a database the server does not hold. Creating it is the operator's explicit step (a typo in
 * the name must not become a new, empty auth database), so the message says which command does it.
 */
export class DatabaseMissingError extends StartupError {
  constructor(readonly url: string) {
    const { database, server } = describeTarget(url);
    super(
      `the database "${database}" does not exist on ${server} (DATABASE_URL); create it with \`npm run manage -- createdb\``,
    );
    this.name = 'DatabaseMissingError';
  }
}

export interface OpenDatabaseOptions {
  /** Run pending migrations once connected. Defaults to the configuration's `migrateOnStart`. */
  migrate?: boolean;
  /** The migrations to run instead of the project's own list (tests of the migration machinery). */
  migrations?: MigrationObject[];
  /** The installed apps (INSTALLED_APPS): their entities, migrations and models join the server's own. */
  apps?: readonly DatabaseApp[];
  /** More entities than the project's and the apps' (a test's). */
  entities?: readonly EntitySchema[];
  /** The models whose content types and permissions `migrate` creates; defaults to Django's and the apps'. */
  models?: readonly ModelDefinition[];
  /**
   * For commands, not servers: when a running server holds the embedded database's folder, use the database
   * through that server's socket rather than fail on the folder's lock.
   */
  shareRunningServer?: boolean;
}

export async function openDatabase(
  config: DatabaseConfig,
  logger: Logger,
  options: OpenDatabaseOptions = {},
): Promise<Database> {
  let embedded: EmbeddedPostgres | undefined;
  let target: ConnectionTarget;
  let poolSize: number;
  let connectTimeoutMs: number;
  let location: string;
  if (config.kind === 'embedded') {
    // Loaded only here: a server on DATABASE_URL has no use for PGlite, and loading it slows every start.
    const { EMBEDDED_GUEST_POOL_SIZE, EMBEDDED_POOL_SIZE, startEmbeddedPostgres } = await import('./embedded.js');
    embedded = await startEmbeddedPostgres({
      dataDir: config.dataDir,
      ...(options.shareRunningServer ? { shareRunningServer: true } : {}),
    });
    const { host, port, user, database } = embedded.connection;
    target = { host, port, user, dbName: database };
    // pglite-socket refuses connections beyond its limit, which leaves room for this pool and a few more; a
    // command borrowing a running server's database takes only a few of those.
    poolSize = embedded.servedBy === undefined ? EMBEDDED_POOL_SIZE : EMBEDDED_GUEST_POOL_SIZE;
    connectTimeoutMs = 5000;
    location =
      embedded.servedBy === undefined
        ? `embedded:${config.dataDir}`
        : `embedded:${config.dataDir}, served by process ${embedded.servedBy}`;
  } else {
    target = connectionTarget(config.url);
    poolSize = config.poolSize;
    connectTimeoutMs = config.connectTimeoutMs;
    location = `${describeUrl(config.url)} (DATABASE_URL)`;
  }

  let orm: MikroORM<PostgreSqlDriver> | undefined;
  logger.debug({ database: location }, 'connecting to the database');
  const apps = options.apps ?? [];
  const ormOptions = ormOptionsWith(apps);
  try {
    orm = await PostgreSqlMikroORM.init({
      ...ormOptions,
      ...(options.migrations ? { migrations: { ...ormOptions.migrations, migrationsList: options.migrations } } : {}),
      ...(options.entities ? { entities: [...(ormOptions.entities ?? []), ...options.entities] } : {}),
      ...target,
      pool: { min: 0, max: poolSize },
      // pg's own default is to wait forever for a connection that never answers.
      driverOptions: { connectionTimeoutMillis: connectTimeoutMs },
      loggerFactory: () => ormLogger(logger),
      colors: false,
      // MikroORM would otherwise create a missing database on connecting: see DatabaseMissingError.
      ensureDatabase: false,
    });
    plainColumns(orm);
    const failure = await connect(orm);
    if (failure) {
      if (config.kind === 'server' && codeOf(failure.error) === UNDEFINED_DATABASE) {
        throw new DatabaseMissingError(config.url);
      }
      throw new DatabaseUnreachableError(
        location,
        explainConnectionError(failure.error, failure.reason, connectTimeoutMs),
      );
    }
  } catch (error) {
    // Clean up without letting a second failure hide the first.
    await orm?.close(true).catch(() => undefined);
    await embedded?.stop().catch(() => undefined);
    throw error;
  }
  const opened = orm;
  // On a server, the named statements every request runs get a connection of their own (src/db/pipeline.ts). Not on
  // the embedded database: its one backend serves every connection, and names go unnamed there anyway.
  let pipeline: PipelinedConnection | undefined;
  if (config.kind === 'server') {
    const pool = (await opened.em.getConnection().getNativeClient()) as unknown as { options: pg.PoolConfig };
    pipeline = new PipelinedConnection(pool.options, logger);
    pipelineNamedStatements(pool, pipeline);
  }

  let closed: Promise<void> | undefined;
  const database: Database = {
    orm: opened,
    location,
    embeddedUrl: embedded?.url,
    pipeline,
    url: embedded?.url ?? withoutPassword(config.kind === 'server' ? config.url : ''),
    async migrate() {
      // Replicas starting together must not run the same migrations at once: a server-wide advisory lock
      // makes the others wait, then find nothing pending. (The embedded database has one process by its lock.)
      const lock = config.kind === 'server' ? await takeMigrationLock(config.url, connectTimeoutMs) : undefined;
      try {
        const applied = (await opened.migrator.up()).map((migration) => migration.name);
        if (applied.length > 0) logger.info({ migrations: applied }, `applied ${applied.length} migration(s)`);
        // Django's post_migrate: content types and permissions of every model, created when missing.
        const models = options.models ?? [...authModels, ...serverModels, ...apps.flatMap((app) => app.models ?? [])];
        const created = await syncContentTypes(opened.em.fork(), models);
        if (created > 0) logger.info(`created ${created} permission(s)`);
        return applied;
      } finally {
        await lock?.release();
      }
    },
    async ping(timeoutMs = 2000) {
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<false>((resolve) => {
        timer = setTimeout(() => {
          resolve(false);
        }, timeoutMs);
      });
      const check = opened.checkConnection().then(
        (result) => result.ok,
        () => false,
      );
      try {
        return await Promise.race([check, timeout]);
      } finally {
        clearTimeout(timer);
      }
    },
    close() {
      closed ??= (async () => {
        try {
          await pipeline?.close();
          await opened.close();
        } finally {
          await embedded?.stop();
        }
      })();
      return closed;
    },
  };

  if (options.migrate ?? config.migrateOnStart) {
    try {
      await database.migrate();
    } catch (error) {
      await database.close().catch(() => undefined);
      throw error;
    }
  }
  return database;
}

/** PostgreSQL's SQLSTATE for "database does not exist". */
const UNDEFINED_DATABASE = '3D000';

function codeOf(error: unknown): string | undefined {
  const { code } = (error ?? {}) as { code?: unknown };
  return typeof code === 'string' ? code : undefined;
}

/** Connects; returns the driver's error when the database does not answer, or undefined when it does. */
async function connect(orm: MikroORM<PostgreSqlDriver>): Promise<{ error: unknown; reason?: string } | undefined> {
  try {
    await orm.connect();
  } catch (error) {
    return { error };
  }
  const check = await orm.checkConnection();
  return check.ok ? undefined : { error: check.error, reason: check.reason };
}

/** An arbitrary, fixed key for pg_advisory_lock: this application's migrations. */
const MIGRATION_LOCK = [0x67716c61, 1] as const;

async function takeMigrationLock(url: string, connectTimeoutMs: number): Promise<{ release(): Promise<void> }> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: connectTimeoutMs });
  await client.connect();
  try {
    // A replica stuck while holding the lock must not hang the others forever.
    await client.query(`SET lock_timeout = '120s'`);
    await client.query('SELECT pg_advisory_lock($1, $2)', [...MIGRATION_LOCK]);
  } catch (error) {
    await client.end().catch(() => undefined);
    throw error;
  }
  return {
    async release() {
      // Ending the session releases the lock even if the unlock fails.
      await client.query('SELECT pg_advisory_unlock($1, $2)', [...MIGRATION_LOCK]).catch(() => undefined);
      await client.end();
    },
  };
}

type ConnectionTarget =
  { clientUrl: string } | { host: string; port: number; user: string; password?: string; dbName: string };

/**
 * What MikroORM connects with. It reads a URL's host, port, user, password and path only, so libpq's form for a Unix
 * socket, `postgres:///db?host=/socket/folder&user=name` (what the embedded database logs), is taken apart here.
 */
export function connectionTarget(url: string): ConnectionTarget {
  const parsed = new URL(url);
  const socketFolder = parsed.searchParams.get('host');
  if (!socketFolder) return { clientUrl: url };
  const password = decodeURIComponent(parsed.password);
  return {
    host: socketFolder,
    port: Number(parsed.port || '5432'),
    user: decodeURIComponent(parsed.username) || (parsed.searchParams.get('user') ?? 'postgres'),
    ...(password ? { password } : {}),
    dbName: decodeURIComponent(parsed.pathname.slice(1)),
  };
}

/** The URL with its password left out (never logged); the rest as given, so that it still connects. */
export function withoutPassword(url: string): string {
  try {
    const parsed = new URL(url);
    parsed.password = '';
    return parsed.toString();
  } catch {
    return '(unparseable DATABASE_URL)';
  }
}

/** `host:port/database` of a PostgreSQL URL, without user or password. */
export function describeUrl(url: string): string {
  try {
    const parsed = new URL(url);
    return `${parsed.hostname}:${parsed.port || '5432'}${parsed.pathname}`;
  } catch {
    return '(unparseable DATABASE_URL)';
  }
}

/** The database's name and the server's `host:port` in a PostgreSQL URL, without user or password. */
export function describeTarget(url: string): { database: string; server: string } {
  try {
    const parsed = new URL(url);
    // libpq's form for a Unix socket names its folder and user in the query: postgres:///db?host=/run/pg&user=app.
    const host = parsed.searchParams.get('host') ?? parsed.hostname;
    const user = decodeURIComponent(parsed.username) || (parsed.searchParams.get('user') ?? '');
    // As pg reads it: the path, or the user's name when the URL names no database.
    const database = decodeURIComponent(parsed.pathname.slice(1)) || user;
    return { database, server: `${host}:${parsed.port || '5432'}` };
  } catch {
    return { database: '(unparseable DATABASE_URL)', server: '(unparseable DATABASE_URL)' };
  }
}

/** Turns a driver error into a short reason an operator can act on. */
export function explainConnectionError(error: unknown, fallback: string | undefined, timeoutMs: number): string {
  const { code, message } = (error ?? {}) as { code?: string; message?: string };
  const network = explainSocketError(code, 'PostgreSQL');
  if (network) return network;
  switch (code) {
    case '28P01':
      return 'password authentication failed';
    case '28000':
      return 'the server rejected this user (pg_hba.conf or role)';
    case '3D000':
      return 'the database does not exist';
  }
  return firstLineOf(message ?? fallback ?? 'unknown error', timeoutMs);
}
