/**
 * `npm run migrate`: applies pending migrations to the configured database (DATABASE_URL, or the embedded one
 * in DATA_DIR) and prints what it did. Exit 0 on success, 1 on failure with a one-line reason.
 */
import { ConfigError } from '../config/index.js';
import { DatabaseUnreachableError } from '../db/database.js';
import { DataDirLockedError } from '../db/embedded.js';
import { migrateCommand } from './migrate-command.js';

migrateCommand(process.argv.slice(2)).then(
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
