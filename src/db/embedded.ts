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
import net from 'node:net';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { PGlite } from '@electric-sql/pglite';
import { PGLiteSocketServer } from '@electric-sql/pglite-socket';
import { StartupError } from '../startup-error.js';

/** The ORM's pool on the embedded database. */
export const EMBEDDED_POOL_SIZE = 8;
/** Connections the socket server accepts: the pool, plus room for psql and the MikroORM CLI. */
const MAX_CONNECTIONS = EMBEDDED_POOL_SIZE + 4;
/** Longest Unix socket path the kernel accepts (sun_path is 108 bytes with its terminating NUL). */
const MAX_SOCKET_PATH = 107;
/** The pool of a command borrowing a running server's database: within the room that server leaves. */
export const EMBEDDED_GUEST_POOL_SIZE = 2;
/** The folder's lock: the pid of the process that has it open. */
const LOCK_FILE = 'server.pid';
/** Where that process serves the database (`{ pid, host, port }`), for commands run while it does. */
const ADDRESS_FILE = 'server.json';
/** How long a command waits for a server that holds the folder but is still starting to serve it. */
const WAIT_FOR_SERVER_MS = 10_000;

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
  /**
   * The pid of the server process this connects through, when that process holds the folder (only with
   * `shareRunningServer`); undefined when this process opened the database itself.
   */
  readonly servedBy?: number;
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
  /**
   * For commands: when a live server holds the folder, connect through the socket it serves the database on
   * instead of failing. A server never does this: one data folder, one server.
   */
  shareRunningServer?: boolean;
}

export async function startEmbeddedPostgres(options: EmbeddedPostgresOptions = {}): Promise<EmbeddedPostgres> {
  const { dataDir } = options;
  let releaseLock = (): void => {};
  if (dataDir) {
    fs.mkdirSync(dataDir, { recursive: true, mode: 0o700 });
    try {
      releaseLock = lockDataDir(dataDir);
    } catch (error) {
      if (!(error instanceof DataDirLockedError && options.shareRunningServer)) throw error;
      const running = await connectToRunningServer(dataDir, error.pid);
      // The holder exited while we waited for it: the folder is free to open after all.
      return running ?? startEmbeddedPostgres(options);
    }
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

  const connection =
    useSocket && dataDir
      ? { host: path.resolve(dataDir), port: 5432, user: 'postgres', database: 'postgres' }
      : {
          host: '127.0.0.1',
          port: Number(server.getServerConn().split(':')[1]),
          user: 'postgres',
          database: 'postgres',
        };
  const addressFile = dataDir ? path.join(dataDir, ADDRESS_FILE) : undefined;
  if (addressFile) {
    const address: ServerAddress = { pid: process.pid, host: connection.host, port: connection.port };
    // Mode 0600 like the folder: whoever reads the address can connect as superuser.
    fs.writeFileSync(addressFile, JSON.stringify(address), { mode: 0o600 });
  }

  let stopped: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopped ??= (async () => {
      try {
        if (addressFile) fs.rmSync(addressFile, { force: true });
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

  return { url: urlOf(connection.host, connection.port), connection, stop };
}

/** Where a server process serves its folder's database, as it writes it to ADDRESS_FILE. */
interface ServerAddress {
  pid: number;
  /** The socket's folder, or 127.0.0.1 for a loopback port. */
  host: string;
  port: number;
}

/** A socket's folder is an absolute path; anything else is a loopback address. */
function urlOf(host: string, port: number): string {
  return host.startsWith('/')
    ? `postgres:///postgres?host=${encodeURIComponent(host)}&user=postgres`
    : `postgres://postgres@${host}:${port}/postgres`;
}

/** The socket file of a folder host, or `host:port`: what an operator can look for. */
function describeAddress({ host, port }: ServerAddress): string {
  return host.startsWith('/') ? path.join(host, `.s.PGSQL.${port}`) : `${host}:${port}`;
}

/**
 * A command's way in while server `pid` holds the folder: the address that server serves the database on, once it
 * answers. Undefined when the holder exits meanwhile (the folder is then free).
 */
async function connectToRunningServer(dataDir: string, pid: number): Promise<EmbeddedPostgres | undefined> {
  const deadline = Date.now() + WAIT_FOR_SERVER_MS;
  let address = readAddress(dataDir, pid);
  // A server writes its address once PGlite is open, a few seconds after it takes the lock.
  while (!address) {
    if (!isAlive(pid)) return undefined;
    if (Date.now() > deadline) {
      throw new DataDirUnreachableError(
        dataDir,
        pid,
        `the embedded database in ${dataDir} is locked by process ${pid}, which does not serve it: if that is a server still starting, run the command again; if it is no server of this app, delete ${path.join(dataDir, LOCK_FILE)}`,
      );
    }
    await sleep(200);
    address = readAddress(dataDir, pid);
  }
  const refused = await probe(address);
  if (refused) {
    throw new DataDirUnreachableError(
      dataDir,
      pid,
      `the embedded database in ${dataDir} is in use by process ${pid}, which does not answer on ${describeAddress(address)} (${refused}): stop that process and run the command again`,
    );
  }
  const connection = { host: address.host, port: address.port, user: 'postgres', database: 'postgres' };
  return {
    url: urlOf(address.host, address.port),
    connection,
    servedBy: pid,
    // The database is the server's to stop; this process only closes its own connections.
    stop: () => Promise.resolve(),
  };
}

/** The address the folder's server wrote, if it is the one of process `pid` (not one left by an earlier crash). */
function readAddress(dataDir: string, pid: number): ServerAddress | undefined {
  try {
    const address = JSON.parse(fs.readFileSync(path.join(dataDir, ADDRESS_FILE), 'utf8')) as Partial<ServerAddress>;
    const valid = address.pid === pid && typeof address.host === 'string' && typeof address.port === 'number';
    return valid ? (address as ServerAddress) : undefined;
  } catch {
    return undefined; // not written yet (or half-written: read again)
  }
}

/** Opens and closes one connection to the address; gives why it failed, or undefined when it was accepted. */
function probe(address: ServerAddress, timeoutMs = 3000): Promise<string | undefined> {
  return new Promise((resolve) => {
    const socket = address.host.startsWith('/')
      ? net.connect(describeAddress(address))
      : net.connect(address.port, address.host);
    socket.setTimeout(timeoutMs, () => {
      socket.destroy();
      resolve(`no answer within ${timeoutMs} ms`);
    });
    socket.once('connect', () => {
      socket.end();
      resolve(undefined);
    });
    socket.once('error', (error: NodeJS.ErrnoException) => {
      resolve(
        error.code === 'ENOENT'
          ? 'no socket there'
          : error.code === 'ECONNREFUSED'
            ? 'connection refused'
            : (error.code ?? error.message),
      );
    });
  });
}

export class DataDirLockedError extends StartupError {
  constructor(
    readonly dataDir: string,
    readonly pid: number,
    message = `the embedded database in ${dataDir} is in use by process ${pid}; stop it or set another DATA_DIR`,
  ) {
    super(message);
    this.name = 'DataDirLockedError';
  }
}

/** A command found the folder locked and could not reach the database through the process holding it. */
export class DataDirUnreachableError extends DataDirLockedError {
  constructor(dataDir: string, pid: number, message: string) {
    super(dataDir, pid, message);
    this.name = 'DataDirUnreachableError';
  }
}

/**
 * Two processes writing one PGlite folder corrupt it, so the folder is locked by a file holding our pid.
 * A lock left by a process that no longer exists (a crash, kill -9) is taken over.
 */
function lockDataDir(dataDir: string): () => void {
  const lockFile = path.join(dataDir, LOCK_FILE);
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
