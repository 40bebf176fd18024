/**
 * `npm run manage -- <command>`: the server's administrative commands (Django's manage.py).
 *
 *   migrate       as `npm run migrate`
 *   permissions   print every operation and what it requires (the manifest committed as schema/permissions.txt)
 *   seed-demo     create demo users, groups and polls for exploring in Sandbox (not in production)
 *   clearsessions delete the sessions that are over (schedule it: see README)
 *   createsuperuser, changepassword   as Django's (see account-commands.ts)
 *
 * Exit 0 on success, 1 on failure with a one-line reason, 2 for a usage error.
 */
import { createAuth } from '../auth/index.js';
import { ConfigError, loadConfig, loadEnvFile } from '../config/index.js';
import { DatabaseUnreachableError, openDatabase } from '../db/database.js';
import { DataDirLockedError } from '../db/embedded.js';
import { SchemaGuardError, permissionManifest } from '../graphql/directives.js';
import { buildSchema } from '../graphql/schema.js';
import { createLogger } from '../logger.js';
import { seedDemo } from './seed-demo.js';
import {
  CHANGEPASSWORD_HELP,
  CREATESUPERUSER_HELP,
  changePassword,
  createSuperuser,
  type AccountCommandDeps,
} from './account-commands.js';
import { migrateCommand } from './migrate-command.js';
import { createPrompter } from './prompt.js';
import type { SessionStore } from '../http/session-store.js';
import { systemClock } from '../auth/clock.js';
import { createSessionStore } from '../http/create-session-store.js';
import { RedisUnreachableError } from '../http/redis-session-store.js';

const HELP = `Usage: npm run manage -- <command>

Commands:
  migrate       apply pending migrations, sync content types and permissions (-- --list: only list them)
  permissions   print every GraphQL operation (and guarded field) and what it requires, one per line
  seed-demo     create the demo groups (Editors, Viewers), users (admin, editor, viewer) and polls;
                idempotent; refused when NODE_ENV=production
  clearsessions delete the sessions that are over (idle or absolute timeout) from the session store
                (SESSION_STORE) and print how many; run it daily
  createsuperuser [--username NAME] [--email ADDRESS] [--no-input]
                create a superuser (asks for what is not given; --no-input reads SUPERUSER_*)
  changepassword USERNAME
                set a user's password (asked twice, validated) and end their sessions`;

type Command = (argv: string[]) => Promise<number>;

const commands: Record<string, Command> = {
  migrate: migrateCommand,
  permissions(argv) {
    if (argv.length > 0) {
      console.error(`error: permissions takes no arguments (got ${argv.join(' ')})`);
      return Promise.resolve(2);
    }
    process.stdout.write(permissionManifest(buildSchema()));
    return Promise.resolve(0);
  },
  async clearsessions(argv) {
    if (argv.length > 0) {
      console.error(`error: clearsessions takes no arguments (got ${argv.join(' ')})`);
      return 2;
    }
    loadEnvFile();
    const config = loadConfig();
    const logger = createLogger('warn');
    const database = await openDatabase(config.database, logger, { migrate: false });
    const store = createSessionStore(config.session, { database, clock: systemClock, logger });
    try {
      await store.open();
      const cleared = await store.clearExpired();
      console.log(`${cleared} expired session(s) deleted (${config.session.store.kind} store)`);
      return 0;
    } catch (error) {
      // 42P01, undefined_table: a database that was never migrated.
      if ((error as { code?: unknown }).code !== '42P01') throw error;
      console.error('error: the database has no session table: run `npm run migrate` first');
      return 1;
    } finally {
      await store.close();
      await database.close();
    }
  },
  async createsuperuser(argv) {
    if (argv.includes('--help')) {
      console.log(CREATESUPERUSER_HELP);
      return 0;
    }
    return withAccounts(async (deps) => createSuperuser(argv, deps));
  },
  async changepassword(argv) {
    if (argv.includes('--help')) {
      console.log(CHANGEPASSWORD_HELP);
      return 0;
    }
    return withAccounts(async (deps, store) => changePassword(argv, { ...deps, store }));
  },
  async 'seed-demo'(argv) {
    if (argv.length > 0) {
      console.error(`error: seed-demo takes no arguments (got ${argv.join(' ')})`);
      return 2;
    }
    loadEnvFile();
    const config = loadConfig();
    if (config.isProduction) {
      // Demo users have passwords printed in the README: never in production.
      console.error('error: seed-demo refuses to run with NODE_ENV=production');
      return 1;
    }
    const database = await openDatabase(config.database, createLogger('warn'), { migrate: true });
    try {
      const created = await seedDemo(database.orm.em.fork(), createAuth(config));
      for (const line of created) console.log(`created ${line}`);
      console.log(created.length > 0 ? `demo data ready (${database.location})` : 'demo data already there');
      return 0;
    } finally {
      await database.close();
    }
  },
};

/** Opens the database (migrated) and the session store around an account command, with a prompter. */
async function withAccounts(run: (deps: AccountCommandDeps, store: SessionStore) => Promise<number>): Promise<number> {
  loadEnvFile();
  const config = loadConfig();
  const logger = createLogger('warn');
  const database = await openDatabase(config.database, logger, { migrate: true });
  const store = createSessionStore(config.session, { database, clock: systemClock, logger });
  const prompter = createPrompter();
  try {
    await store.open();
    return await run(
      {
        em: database.orm.em.fork(),
        auth: createAuth(config),
        config,
        prompter,
        env: process.env,
        out: (line) => {
          console.log(line);
        },
        err: (line) => {
          console.error(line);
        },
      },
      store,
    );
  } finally {
    prompter.close();
    await store.close();
    await database.close();
  }
}

async function main([name, ...rest]: string[]): Promise<number> {
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    console.log(HELP);
    return name === undefined ? 2 : 0;
  }
  const command = Object.hasOwn(commands, name) ? commands[name] : undefined;
  if (!command) {
    console.error(`error: unknown command ${JSON.stringify(name)}\n\n${HELP}`);
    return 2;
  }
  return command(rest);
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    if (error instanceof ConfigError) console.error(`error: ${error.problems.join('\nerror: ')}`);
    else if (
      error instanceof SchemaGuardError ||
      error instanceof DatabaseUnreachableError ||
      error instanceof DataDirLockedError ||
      error instanceof RedisUnreachableError
    )
      console.error(`error: ${error.message}`);
    else console.error(`error: ${error instanceof Error ? error.message : String(error)}`);
    process.exitCode = 1;
  },
);
