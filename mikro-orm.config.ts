/**
 * The MikroORM CLI's configuration (`npx mikro-orm ...`): the server's options (src/db/orm-options.ts) with the apps
 * INSTALLED_APPS names (their entities, migrations and hand-written tables), and a connection to DATABASE_URL or,
 * without it, the embedded database in DATA_DIR (through the server's socket while a server has it open: one process
 * at a time may hold the embedded database). An app's migration goes in its own folder:
 *
 *   npx mikro-orm migration:create --name=add_closed --path examples/polls/migrations
 */
import type { Options } from '@mikro-orm/postgresql';
import { installedApps } from './src/apps.js';
import { loadExtensions } from './src/auth/extensions.js';
import { loadConfig, loadEnvFile } from './src/config/index.js';
import { ormOptions, ormOptionsWith, publicTables, skippingUnmodelled } from './src/db/orm-options.js';

export { ormOptions };

export default async function cliConfig(): Promise<Options> {
  loadEnvFile();
  const config = await loadExtensions(loadConfig());
  const options = ormOptionsWith(installedApps(config));
  const { database } = config;
  if (database.kind === 'server') {
    const tables = await publicTables({ connectionString: database.url });
    return { ...skippingUnmodelled(options, tables), clientUrl: database.url, pool: { min: 0, max: 1 } };
  }
  // Loaded only here: the server imports ormOptions alone, and PGlite is of no use to it on DATABASE_URL.
  const { startEmbeddedPostgres } = await import('./src/db/embedded.js');
  // While a server has the folder open, the CLI goes through that server's socket.
  const embedded = await startEmbeddedPostgres({
    dataDir: database.dataDir,
    unrefOnIdle: true,
    shareRunningServer: true,
  });
  const { host, port, user, database: dbName } = embedded.connection;
  const tables = await publicTables({ host, port, user, database: dbName });
  return { ...skippingUnmodelled(options, tables), host, port, user, dbName, pool: { min: 0, max: 2 } };
}
