/**
 * A real PgBouncer in front of the PostgreSQL server, as operators put one in front of many processes: transaction
 * pooling, a small pool of server connections shared by every client, and its own defaults otherwise (it refuses a
 * startup parameter it does not know, `options` among them). Each instance runs with its own configuration and log in
 * a scratch folder. Debian's `pgbouncer` package (installed by `.ci/run`) provides the binary; where it is missing,
 * `pgbouncerUnavailable` says why and the tests skip, saying so.
 *
 *   const bouncer = await startPgBouncer(serverUrl);
 *   afterAll(() => bouncer.stop());
 *   new pg.Client({ connectionString: bouncer.url });
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawnDaemon } from './daemon.js';
import { scratchDir } from './database.js';
import { freePort, listening } from './ports.js';

export const PGBOUNCER_PATH = process.env.PGBOUNCER_PATH ?? '/usr/sbin/pgbouncer';

/** Why PgBouncer cannot run here, or undefined when it can. */
export function pgbouncerUnavailable(): string | undefined {
  if (!fs.existsSync(PGBOUNCER_PATH)) {
    return `no PgBouncer at ${PGBOUNCER_PATH} (install Debian's pgbouncer package, as .ci/run does, or set PGBOUNCER_PATH)`;
  }
  return undefined;
}

export interface PgBouncer {
  /** `serverUrl` with PgBouncer's address instead of the server's: same user, same database. */
  readonly url: string;
  /** What PgBouncer logged (each client's login and close, and why). */
  log(): string;
  stop(): Promise<void>;
}

/**
 * Starts PgBouncer in transaction mode in front of the server of `serverUrl` (trust authentication, as the server
 * the tests use), with `poolSize` server connections per database and user.
 */
export async function startPgBouncer(serverUrl: string, poolSize = 2): Promise<PgBouncer> {
  const dir = scratchDir('pgbouncer');
  // As root (CI), PgBouncer refuses to run unless it switches to another user; it reads its files before it does.
  const asRoot = process.getuid?.() === 0;
  const server = new URL(serverUrl);
  const user = decodeURIComponent(server.username) || os.userInfo().username;
  // Clients are trusted; the password is the one PgBouncer gives the server for them.
  const quoted = (text: string) => `"${text.replaceAll('"', '""')}"`;
  fs.writeFileSync(path.join(dir, 'users.txt'), `${quoted(user)} ${quoted(decodeURIComponent(server.password))}\n`);
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    fs.writeFileSync(
      path.join(dir, 'pgbouncer.ini'),
      `[databases]
* = host=${server.hostname} port=${server.port || '5432'}
[pgbouncer]
listen_addr = 127.0.0.1
listen_port = ${port}
unix_socket_dir =
auth_type = trust
auth_file = ${path.join(dir, 'users.txt')}
pool_mode = transaction
default_pool_size = ${poolSize}
max_client_conn = 200
`,
    );
    // Its log goes to stderr: a log file would have to be in a folder the user it switches to may write.
    const { child, stderr, exited } = spawnDaemon(PGBOUNCER_PATH, [
      ...(asRoot ? ['-u', 'nobody'] : []),
      path.join(dir, 'pgbouncer.ini'),
    ]);
    const ready = await Promise.race([listening(port).then(() => true), exited.then(() => false)]).catch(
      (error: unknown) => {
        // Not listening after 10 s, yet running: stopped, so that it neither outlives the test nor holds Jest open.
        child.kill('SIGKILL');
        throw error;
      },
    );
    if (!ready) {
      // A free port chosen, then given to PgBouncer: another process may take it in between.
      if (attempt < 3 && /Address already in use/.test(stderr())) continue;
      throw new Error(`PgBouncer did not start: ${stderr()}`);
    }
    const url = new URL(serverUrl);
    url.hostname = '127.0.0.1';
    url.port = String(port);
    return {
      url: url.toString(),
      log: stderr,
      stop: async () => {
        if (child.exitCode !== null || child.signalCode !== null) return;
        // SIGINT: PgBouncer's safe shutdown (waits for transactions in flight); cut after 5 s.
        child.kill('SIGINT');
        const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
        await exited;
        clearTimeout(timer);
      },
    };
  }
}
