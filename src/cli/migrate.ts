/**
 * `npm run migrate`: applies pending migrations to the configured database (DATABASE_URL, or the embedded one
 * in DATA_DIR) and prints what it did. Exit 0 on success, 1 on failure with a one-line reason.
 */
import { migrateCommand } from './migrate-command.js';
import { runAsMain } from './run-command.js';

runAsMain(migrateCommand, process.argv.slice(2));
