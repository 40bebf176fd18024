/**
 * The MikroORM CLI's configuration (`npx mikro-orm ...`): the server's options (src/db/orm-options.ts) and a
 * connection to DATABASE_URL or, without it, the embedded database in DATA_DIR (through the server's socket while a
 * server has it open: one process at a time may hold the embedded database).
 */
import type { Options } from '@mikro-orm/postgresql';
import { loadConfig, loadEnvFile } from './src/config/index.js';
import { ormOptions } from './src/db/orm-options.js';

export { ormOptions };

export default async function cliConfig(): Promise<Options> {
  loadEnvFile();
  const { database } = loadConfig();
  if (database.kind === 'server') {
    return { ...ormOptions, clientUrl: database.url, pool: { min: 0, max: 1 } };
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
  return { ...ormOptions, host, port, user, dbName, pool: { min: 0, max: 2 } };
}
