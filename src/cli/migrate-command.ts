/**
 * The migrate command, shared by `npm run migrate` and `npm run manage -- migrate`: applies pending migrations (and
 * syncs content types and permissions, adopting an existing Django database) and prints what it did.
 */
import { installedApps } from '../apps.js';
import { loadExtensions } from '../auth/extensions.js';
import { loadConfig, loadEnvFile } from '../config/index.js';
import { openDatabase } from '../db/database.js';
import { createLogger } from '../logger.js';
import { UsageError, type Command } from './command.js';

const MIGRATE_HELP = `Usage: npm run migrate [-- --list]     (or: npm run manage -- migrate [--list])

Applies pending migrations to the database named by DATABASE_URL, or to the embedded
database in DATA_DIR (default .data/) when DATABASE_URL is unset.

  --list   print applied and pending migrations, change nothing
  --help   show this help`;

export const migrateCommand: Command = {
  summary: 'apply pending migrations, sync content types and permissions (--list: only list them)',
  help: MIGRATE_HELP,
  run: migrate,
};

async function migrate(argv: string[]): Promise<number> {
  const unknown = argv.filter((arg) => arg !== '--list');
  if (unknown.length > 0) throw new UsageError(`unknown argument ${unknown.join(' ')}`);
  loadEnvFile();
  // The apps INSTALLED_APPS names bring migrations of their own, run after the server's.
  const config = await loadExtensions(loadConfig());
  const logger = createLogger(config.logLevel === 'info' ? 'warn' : config.logLevel);
  const database = await openDatabase(config.database, logger, {
    migrate: false,
    shareRunningServer: true,
    apps: installedApps(config),
  });
  try {
    if (argv.includes('--list')) {
      const executed = await database.orm.migrator.getExecuted();
      const pending = await database.orm.migrator.getPending();
      for (const { name } of executed) console.log(`[applied] ${name}`);
      for (const { name } of pending) console.log(`[pending] ${name}`);
      console.log(`${executed.length} applied, ${pending.length} pending (${database.location})`);
      return 0;
    }
    const applied = await database.migrate();
    for (const name of applied) console.log(`applied ${name}`);
    console.log(
      applied.length > 0
        ? `${applied.length} migration(s) applied to ${database.location}`
        : `no pending migrations (${database.location})`,
    );
    return 0;
  } finally {
    await database.close();
  }
}
