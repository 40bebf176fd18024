/**
 * Creates the database DATABASE_URL names, on its server: the explicit step the server, `migrate` and the manage
 * commands point to when the database does not exist (they never create it themselves).
 */
import pg from 'pg';
import { StartupError } from '../startup-error.js';
import { DatabaseUnreachableError, describeTarget, describeUrl, explainConnectionError } from './database.js';

/** PostgreSQL's SQLSTATEs met here. */
const UNDEFINED_DATABASE = '3D000';
const DUPLICATE_DATABASE = '42P04';
const INSUFFICIENT_PRIVILEGE = '42501';

/** The role in DATABASE_URL lacks CREATEDB. The message gives the statement an administrator can run instead. */
export class CreateDatabaseRefusedError extends StartupError {
  constructor(role: string, database: string, server: string) {
    super(
      `the role "${role}" may not create databases on ${server}: ask an administrator to run CREATE DATABASE "${database}" OWNER "${role}"`,
    );
    this.name = 'CreateDatabaseRefusedError';
  }
}

/**
 * Creates the database of `url` unless it exists. Connects with the same credentials to a database every
 * server has (`postgres`, or `template1` where that was dropped). Returns whether it created it.
 */
export async function createDatabase(url: string, connectTimeoutMs: number): Promise<boolean> {
  const { database, server } = describeTarget(url);
  const client = await connectToMaintenanceDatabase(url, connectTimeoutMs);
  try {
    const { rows } = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [database]);
    if (rows.length > 0) return false;
    try {
      // An identifier cannot be a query parameter; escapeIdentifier quotes it, so any name is taken literally.
      await client.query(`CREATE DATABASE ${client.escapeIdentifier(database)}`);
      return true;
    } catch (error) {
      const code = (error as { code?: unknown }).code;
      if (code === DUPLICATE_DATABASE) return false; // created meanwhile by someone else
      if (code === INSUFFICIENT_PRIVILEGE) throw new CreateDatabaseRefusedError(client.user ?? '', database, server);
      throw error;
    }
  } finally {
    await client.end().catch(() => undefined);
  }
}

async function connectToMaintenanceDatabase(url: string, connectTimeoutMs: number): Promise<pg.Client> {
  let failure: unknown;
  for (const name of ['postgres', 'template1']) {
    const target = new URL(url);
    target.pathname = `/${name}`;
    const client = new pg.Client({ connectionString: target.toString(), connectionTimeoutMillis: connectTimeoutMs });
    // A connection failing later (the server restarting) must not crash the process with an unhandled 'error'.
    client.on('error', () => undefined);
    try {
      await client.connect();
      return client;
    } catch (error) {
      failure = error;
      await client.end().catch(() => undefined);
      if ((error as { code?: unknown }).code !== UNDEFINED_DATABASE) break;
    }
  }
  throw new DatabaseUnreachableError(
    `${describeUrl(url)} (DATABASE_URL)`,
    explainConnectionError(failure, undefined, connectTimeoutMs),
  );
}
