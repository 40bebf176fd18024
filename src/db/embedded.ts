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

/** Connections the socket server accepts; the ORM pool is sized to this. */
export const EMBEDDED_MAX_CONNECTIONS = 8;

export interface EmbeddedPostgres {
  /** A `postgres://` URL for any PostgreSQL client. */
  readonly url: string;
  /** The folder holding the data, or undefined for an in-memory database. */
  readonly dataDir: string | undefined;
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

  const server = new PGLiteSocketServer({
    db,
    host: '127.0.0.1',
    port: 0,
    maxConnections: EMBEDDED_MAX_CONNECTIONS,
  });
  await server.start();

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

  return { url: `postgres://postgres@${server.getServerConn()}/postgres`, dataDir, stop };
}

export class DataDirLockedError extends Error {
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
      if (Number.isInteger(holder) && holder > 0 && holder !== process.pid && isAlive(holder)) {
        throw new DataDirLockedError(dataDir, holder);
      }
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
