/**
 * A second replica of a test app, behind the same imaginary load balancer: its own server on the same database
 * (and Redis), with its own connections. A process of its own where it can reach them (a PostgreSQL server; Redis),
 * as production runs replicas. The embedded database serves only the process that opened it: there the second
 * server runs in this process, on the same database, with its own session store and counter connections.
 */
import path from 'node:path';
import { startServer } from '../../src/server.js';
import type { TestApp } from './app.js';
import { scratchDir } from './database.js';
import { testLogger } from './env.js';
import { spawnServer } from './process.js';

export interface Replica {
  readonly url: string;
  /** Whether it runs as a process of its own. */
  readonly separateProcess: boolean;
  stop(): Promise<void>;
}

/**
 * `env` is what the replica's environment adds (as the first app's `env` did; both must agree on SESSION_SECRET).
 * `ownDatabase`: with Redis sessions, a process may keep a database of its own (for what needs only Redis).
 */
export async function startReplica(
  app: TestApp,
  env: Record<string, string> = {},
  { ownDatabase = false }: { ownDatabase?: boolean } = {},
): Promise<Replica> {
  const { store } = app.config.session;
  const storeEnv: Record<string, string> =
    store.kind === 'redis' ? { SESSION_STORE: 'redis', REDIS_URL: store.url, REDIS_KEY_PREFIX: store.keyPrefix } : {};
  const databaseEnv: Record<string, string> | undefined =
    app.config.database.kind === 'server'
      ? { DATABASE_URL: app.config.database.url, MIGRATE_ON_START: 'false' }
      : ownDatabase && store.kind === 'redis'
        ? { DATA_DIR: path.join(scratchDir('replica'), 'data') }
        : undefined;
  if (!databaseEnv) {
    // Its stop must not close the database the first app still uses.
    const running = await startServer(app.config, testLogger, { ...app.database, close: () => Promise.resolve() });
    return { url: running.url, separateProcess: false, stop: () => running.stop() };
  }
  // The same apps as the first (the polls example, by default): both serve one schema.
  const apps = { INSTALLED_APPS: app.config.installedApps.map((entry) => entry.module).join(',') };
  const other = spawnServer({ ...apps, ...storeEnv, ...databaseEnv, ...env });
  const url = await other.ready();
  return {
    url,
    separateProcess: true,
    async stop() {
      other.child.kill('SIGTERM');
      await other.exited;
    },
  };
}
