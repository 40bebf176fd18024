/**
 * `npm run manage -- createdb`: creates the database DATABASE_URL names. The server, `migrate` and the other
 * commands stop when it does not exist, rather than create it from what may be a typo.
 */
import { loadConfig, loadEnvFile } from '../config/index.js';
import { describeTarget } from '../db/database.js';
import { createDatabase } from '../db/create-database.js';
import { noArguments, type Command } from './command.js';

export const createdbCommand: Command = {
  summary: 'create the database DATABASE_URL names (start-up never creates it)',
  help: `Usage: npm run manage -- createdb

Creates the database named by DATABASE_URL on its server, connecting with the same user (who needs the CREATEDB
privilege) to the server's "postgres" database. Does nothing when it exists. Tables come next, from
\`npm run migrate\` or \`npm start\`. The embedded database (DATA_DIR) needs no creating.`,
  async run(argv) {
    noArguments(argv);
    loadEnvFile();
    const { database } = loadConfig();
    if (database.kind === 'embedded') {
      console.log(
        `nothing to create: the embedded database in ${database.dataDir} is made when the server first starts`,
      );
      return 0;
    }
    const { database: name, server } = describeTarget(database.url);
    const created = await createDatabase(database.url, database.connectTimeoutMs);
    console.log(
      created
        ? `created the database "${name}" on ${server}; \`npm start\` or \`npm run migrate\` creates its tables`
        : `the database "${name}" already exists on ${server}`,
    );
    return 0;
  },
};
