/**
 * Opens the database the configuration names: a PostgreSQL server (DATABASE_URL) or the embedded one
 * (DATA_DIR). Checks that it answers, runs pending migrations when asked, and gives back one handle that
 * closes everything it opened, in order.
 */
import type { MigrationObject, MikroORM } from '@mikro-orm/core';
import { MikroORM as PostgreSqlMikroORM, type PostgreSqlDriver } from '@mikro-orm/postgresql';
import type { DatabaseConfig } from '../config/index.js';
import type { Logger } from '../logger.js';
import { ormOptions } from '../../mikro-orm.config.js';
import { EMBEDDED_MAX_CONNECTIONS, startEmbeddedPostgres, type EmbeddedPostgres } from './embedded.js';

export interface Database {
  readonly orm: MikroORM<PostgreSqlDriver>;
  /** Where the data is, for log lines: `host:port/db` or the embedded folder. Never contains a password. */
  readonly location: string;
  /** The embedded database's `postgres://` URL (loopback, no password), or undefined on a server. */
  readonly embeddedUrl: string | undefined;
  /** True while the database answers a trivial query within `timeoutMs`. Never throws. */
  ping(timeoutMs?: number): Promise<boolean>;
  /** Closes the pool, then the embedded database if there is one. Safe to call twice. */
  close(): Promise<void>;
}

/** The database could not be reached at start-up. Its message is one line meant for an operator. */
export class DatabaseUnreachableError extends Error {
  constructor(
    readonly location: string,
    readonly reason: string,
  ) {
    super(`cannot reach the database at ${location}: ${reason}`);
    this.name = 'DatabaseUnreachableError';
  }
}

export interface OpenDatabaseOptions {
  /** Run pending migrations once connected. Defaults to the configuration's `migrateOnStart`. */
  migrate?: boolean;
  /** The migrations to run instead of the project's own list (tests of the migration machinery). */
  migrations?: MigrationObject[];
}

export async function openDatabase(
  config: DatabaseConfig,
  logger: Logger,
  options: OpenDatabaseOptions = {},
): Promise<Database> {
  let embedded: EmbeddedPostgres | undefined;
  let clientUrl: string;
  let poolSize: number;
  let connectTimeoutMs: number;
  let location: string;
  if (config.kind === 'embedded') {
    embedded = await startEmbeddedPostgres({
      dataDir: config.dataDir,
    });
    clientUrl = embedded.url;
    // pglite-socket refuses connections beyond its limit: never ask for more.
    poolSize = EMBEDDED_MAX_CONNECTIONS;
    connectTimeoutMs = 5000;
    location = `embedded:${config.dataDir}`;
  } else {
    clientUrl = config.url;
    poolSize = config.poolSize;
    connectTimeoutMs = config.connectTimeoutMs;
    location = `${describeUrl(config.url)} (DATABASE_URL)`;
  }

  let orm: MikroORM<PostgreSqlDriver>;
  try {
    orm = await PostgreSqlMikroORM.init({
      ...ormOptions,
      ...(options.migrations ? { migrations: { ...ormOptions.migrations, migrationsList: options.migrations } } : {}),
      clientUrl,
      pool: { min: 0, max: poolSize },
      // pg's own default is to wait forever for a connection that never answers.
      driverOptions: { connectionTimeoutMillis: connectTimeoutMs },
      logger: (message) => {
        logger.debug({ orm: message }, 'orm');
      },
    });
    await orm.connect();
    const check = await orm.checkConnection();
    if (!check.ok) {
      await orm.close(true);
      throw new DatabaseUnreachableError(location, explainConnectionError(check.error, check.reason, connectTimeoutMs));
    }
  } catch (error) {
    await embedded?.stop();
    if (error instanceof DatabaseUnreachableError) throw error;
    throw new DatabaseUnreachableError(location, explainConnectionError(error, undefined, connectTimeoutMs));
  }

  let closed: Promise<void> | undefined;
  const database: Database = {
    orm,
    location,
    embeddedUrl: embedded?.url,
    async ping(timeoutMs = 2000) {
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<false>((resolve) => {
        timer = setTimeout(() => {
          resolve(false);
        }, timeoutMs);
      });
      const check = orm.checkConnection().then(
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
          await orm.close();
        } finally {
          await embedded?.stop();
        }
      })();
      return closed;
    },
  };

  if (options.migrate ?? config.migrateOnStart) {
    try {
      await migrate(database, logger);
    } catch (error) {
      await database.close();
      throw error;
    }
  }
  return database;
}

/** Applies pending migrations, all in one transaction; returns the names applied. */
export async function migrate(database: Database, logger: Logger): Promise<string[]> {
  const applied = await database.orm.migrator.up();
  const names = applied.map((migration) => migration.name);
  if (names.length > 0) logger.info({ migrations: names }, `applied ${names.length} migration(s)`);
  return names;
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

/** Turns a driver error into a short reason an operator can act on. */
export function explainConnectionError(error: unknown, fallback: string | undefined, timeoutMs: number): string {
  const { code, message } = (error ?? {}) as { code?: string; message?: string };
  switch (code) {
    case 'ECONNREFUSED':
      return 'connection refused (is PostgreSQL running and listening on that port?)';
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return 'host name not found';
    case 'ETIMEDOUT':
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
      return `host unreachable (${code})`;
    case '28P01':
      return 'password authentication failed';
    case '28000':
      return 'the server rejected this user (pg_hba.conf or role)';
    case '3D000':
      return 'the database does not exist';
  }
  const text = message ?? fallback ?? 'unknown error';
  if (/timeout/i.test(text)) return `no answer within ${timeoutMs} ms`;
  // The first line only: a driver message can span several, and a dump helps nobody here.
  return text.split('\n')[0] ?? text;
}
