/**
 * `npm run migrate`: applies pending migrations to the configured database (DATABASE_URL, or the embedded one
 * in DATA_DIR) and prints what it did. Exit 0 on success, 1 on failure with a one-line reason.
 */
import { ConfigError, loadConfig, loadEnvFile } from '../config/index.js';
import { DatabaseUnreachableError, openDatabase } from '../db/database.js';
import { DataDirLockedError } from '../db/embedded.js';
import { createLogger } from '../logger.js';

const HELP = `Usage: npm run migrate [-- --list]

Applies pending migrations to the database named by DATABASE_URL, or to the embedded
database in DATA_DIR (default .data/) when DATABASE_URL is unset.

  --list   print applied and pending migrations, change nothing
  --help   show this help`;

async function main(argv: string[]): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) {
    console.log(HELP);
    return 0;
  }
  const unknown = argv.filter((arg) => arg !== '--list');
  if (unknown.length > 0) {
    console.error(`error: unknown argument ${unknown.join(' ')}\n\n${HELP}`);
    return 1;
  }
  loadEnvFile();
  const config = loadConfig();
  const logger = createLogger(config.logLevel === 'info' ? 'warn' : config.logLevel);
  const database = await openDatabase(config.database, logger, { migrate: false });
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

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    if (error instanceof ConfigError) console.error(`error: ${error.problems.join('\nerror: ')}`);
    else if (error instanceof DatabaseUnreachableError || error instanceof DataDirLockedError) {
      console.error(`error: ${error.message}`);
    } else console.error(`error: migration failed: ${error instanceof Error ? error.message : String(error)}`);
    process.exitCode = 1;
  },
);
