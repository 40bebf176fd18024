/**
 * MikroORM's configuration, shared by the server and the MikroORM CLI (`npx mikro-orm ...`).
 *
 * `ormOptions` holds what does not depend on where the database is: entities, migrations, naming.
 * The server adds the connection in `src/db/database.ts`. The default export, used by the CLI, connects to
 * DATABASE_URL or, without it, opens the embedded database in DATA_DIR (through the server's socket while a server
 * has it open: one process at a time may hold the embedded database).
 */
import { defineConfig, type Options } from '@mikro-orm/postgresql';
import { Migrator } from '@mikro-orm/migrations';
import { loadConfig, loadEnvFile } from './src/config/index.js';
import { entities } from './src/entities/index.js';
import { migrations } from './src/db/migrations/index.js';
import { PROJECT_TABLES } from './src/db/project-tables.js';

export const ormOptions = defineConfig({
  entities,
  extensions: [Migrator],
  discovery: { warnWhenNoEntities: false },
  schemaGenerator: {
    // The project's tables belong to its hand-written migrations (Django's names, triggers, adoption as they are):
    // left out of the schema diff, so that `migration:create` never drops, renames or rewrites them.
    skipTables: [...PROJECT_TABLES],
  },
  migrations: {
    // Where `migration:create` writes; the server runs the list in src/db/migrations/index.ts.
    path: 'src/db/migrations',
    pathTs: 'src/db/migrations',
    migrationsList: migrations,
    tableName: 'mikro_orm_migrations',
    transactional: true,
    allOrNothing: true,
    snapshot: false,
    // A table without an entity is someone else's (a Django project's, sharing the database): never dropped.
    // To drop a table of your own (or undo one in down()), write the DROP TABLE into the migration by hand.
    dropTables: false,
    emit: 'ts',
  },
});

export default async function cliConfig(): Promise<Options> {
  loadEnvFile();
  const { database } = loadConfig();
  if (database.kind === 'server') {
    return { ...ormOptions, clientUrl: database.url, pool: { min: 0, max: 1 } };
  }
  // Loaded only here: the server imports ormOptions from this file, and PGlite is of no use to it on DATABASE_URL.
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
