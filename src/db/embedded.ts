/**
 * The embedded PostgreSQL: PGlite (PostgreSQL compiled to WebAssembly, in this process) served over the
 * PostgreSQL wire protocol on a loopback port, so the app talks to it with the same driver, SQL and migrations
 * as to a real server, and psql can connect to it while the server runs.
 *
 * PGlite has a single backend. pglite-socket multiplexes client connections onto it and refuses connections past
 * `maxConnections`, so the ORM's pool must never be larger than `EMBEDDED_MAX_CONNECTIONS`. While one connection
 * holds a transaction open, the others' queries wait: code must never wait inside a transaction for a query on a
 * second connection, or it deadlocks here (a real server would not show the bug).
 */
import fs from 'node:fs';
import path from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { PGLiteSocketServer } from '@electric-sql/pglite-socket';
import { StartupError } from '../startup-error.js';

/** The ORM's pool on the embedded database. */
export const EMBEDDED_POOL_SIZE = 8;
/** Connections the socket server accepts: the pool, plus room for psql and the MikroORM CLI. */
const MAX_CONNECTIONS = EMBEDDED_POOL_SIZE + 4;
/** Longest Unix socket path the kernel accepts (sun_path is 108 bytes with its terminating NUL). */
const MAX_SOCKET_PATH = 107;

export interface EmbeddedPostgres {
  /**
   * A `postgres://` URL for any PostgreSQL client. With a data folder it names a Unix socket inside that folder
   * (`postgres:///postgres?host=<folder>&user=postgres`; `psql -h <folder> -U postgres` works too); in memory, a
   * loopback port.
   */
  readonly url: string;
  /** The same, as separate options: `host` is the socket's folder or 127.0.0.1. */
  readonly connection: {
    readonly host: string;
    readonly port: number;
    readonly user: string;
    readonly database: string;
  };
  /** Stops accepting connections and closes PGlite, flushing its files. Safe to call twice. */
  stop(): Promise<void>;
}

export interface EmbeddedPostgresOptions {
  /** Folder for the data; created if missing. Omit for an in-memory database. */
  dataDir?: string;
  /**
   * Let the process exit while the database is open (the MikroORM CLI, which does not know to stop it).
   * The database is then stopped on `beforeExit`.
   */
  unrefOnIdle?: boolean;
}

export async function startEmbeddedPostgres(options: EmbeddedPostgresOptions = {}): Promise<EmbeddedPostgres> {
  const { dataDir } = options;
  let releaseLock = (): void => {};
  if (dataDir) {
    fs.mkdirSync(dataDir, { recursive: true, mode: 0o700 });
    releaseLock = lockDataDir(dataDir);
  }

  let db: PGlite;
  try {
    db = await PGlite.create(dataDir ? { dataDir: path.join(dataDir, 'pgdata') } : {});
  } catch (error) {
    releaseLock();
    throw error;
  }

  // The embedded server has no passwords: whoever can connect is superuser. A Unix socket in the data folder
  // (mode 0700) lets only this user in; TCP on loopback would let in every local user and process.
  const socketPath = dataDir ? path.join(dataDir, '.s.PGSQL.5432') : undefined;
  const useSocket = socketPath !== undefined && Buffer.byteLength(socketPath) <= MAX_SOCKET_PATH;
  if (useSocket) fs.rmSync(socketPath, { force: true }); // left by a crash; we hold the folder's lock
  const server = new PGLiteSocketServer({
    db,
    ...(useSocket ? { path: socketPath } : { host: '127.0.0.1', port: 0 }),
    maxConnections: MAX_CONNECTIONS,
  });
  try {
    await server.start();
  } catch (error) {
    await db.close();
    releaseLock();
    throw error;
  }

  let stopped: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopped ??= (async () => {
      try {
        await server.stop();
      } finally {
        await db.close();
        releaseLock();
      }
    })();
    return stopped;
  };

  if (options.unrefOnIdle) {
    // pglite-socket keeps its net.Server private; unref it so that it alone does not keep the process alive.
    (Reflect.get(server, 'server') as { unref?: () => void } | null)?.unref?.();
    process.once('beforeExit', () => void stop());
  }

  const connection =
    useSocket && dataDir
      ? { host: dataDir, port: 5432, user: 'postgres', database: 'postgres' }
      : {
          host: '127.0.0.1',
          port: Number(server.getServerConn().split(':')[1]),
          user: 'postgres',
          database: 'postgres',
        };
  const url = useSocket
    ? `postgres:///postgres?host=${encodeURIComponent(connection.host)}&user=postgres`
    : `postgres://postgres@127.0.0.1:${connection.port}/postgres`;
  return { url, connection, stop };
}

export class DataDirLockedError extends StartupError {
  constructor(
    readonly dataDir: string,
    readonly pid: number,
  ) {
    super(`the embedded database in ${dataDir} is in use by process ${pid}; stop it or set another DATA_DIR`);
    this.name = 'DataDirLockedError';
  }
}

/**
 * Two processes writing one PGlite folder corrupt it, so the folder is locked by a file holding our pid.
 * A lock left by a process that no longer exists (a crash, kill -9) is taken over.
 */
function lockDataDir(dataDir: string): () => void {
  const lockFile = path.join(dataDir, 'server.pid');
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      fs.writeFileSync(lockFile, String(process.pid), { flag: 'wx' });
      return () => {
        fs.rmSync(lockFile, { force: true });
      };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const holder = Number(fs.readFileSync(lockFile, 'utf8').trim());
      // Our own pid counts as alive: the same process must not open one folder twice either.
      if (Number.isInteger(holder) && holder > 0 && isAlive(holder)) throw new DataDirLockedError(dataDir, holder);
      // A lock left by a process that no longer exists. (Two servers starting in the same instant after a crash
      // could both take it over; the window is the few microseconds between this rm and the write above.)
      fs.rmSync(lockFile, { force: true });
    }
  }
  throw new Error(`could not lock ${lockFile}`);
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists but belongs to someone else.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
