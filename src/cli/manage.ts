/**
 * `npm run manage -- <command>` (or `gqlauth-manage <command>` where the package is installed): the server's
 * administrative commands, Django's manage.py. Each command has a --help; each exits 0 on success and 1 on failure
 * (bad arguments included) with a one-line reason on stderr.
 */
import { parseArgs } from 'node:util';
import { installedApps, schemaOf } from '../apps.js';
import { pruneAuditEvents, retentionCutoff } from '../audit/prune.js';
import { AuditRecorder, databaseWrite } from '../audit/recorder.js';
import { createAuth, loadExtensions } from '../auth/index.js';
import { systemClock } from '../auth/clock.js';
import { loadConfig, loadEnvFile } from '../config/index.js';
import { openDatabase } from '../db/database.js';

import { buildSchema, schemaManifest } from '../graphql/schema.js';
import { createStores } from '../stores/create-stores.js';
import type { SessionStore } from '../stores/session-store.js';
import { createLogger } from '../logger.js';
import {
  CHANGEPASSWORD_HELP,
  CREATESUPERUSER_HELP,
  changePassword,
  createSuperuser,
  type AccountCommandDeps,
} from './account-commands.js';
import { checkCommand } from './check-command.js';
import { UsageError, noArguments, type Command } from './command.js';
import { createdbCommand } from './createdb-command.js';
import { migrateCommand } from './migrate-command.js';
import { createPrompter } from './prompt.js';
import { runCommand } from './run-command.js';
import { RESETSECONDFACTOR_HELP, resetSecondFactorCommand } from './second-factor-command.js';
import { seedDemo } from './seed-demo.js';

const commands: Record<string, Command> = {
  check: checkCommand,
  createdb: createdbCommand,
  migrate: migrateCommand,
  createsuperuser: {
    summary: 'create a superuser (asks for what is not given; --no-input reads SUPERUSER_*)',
    help: CREATESUPERUSER_HELP,
    run(argv) {
      const { values } = parseOptions(argv, {
        username: { type: 'string' },
        email: { type: 'string' },
        'no-input': { type: 'boolean' },
      });
      const options = { username: values.username, email: values.email, noInput: values['no-input'] === true };
      return withAccounts((deps) => createSuperuser(options, deps));
    },
  },
  changepassword: {
    summary: "set a user's password (asked twice, validated) and end their sessions",
    help: CHANGEPASSWORD_HELP,
    run(argv) {
      const { positionals } = parseOptions(argv, {}, true);
      const [username, ...extra] = positionals;
      if (username === undefined || extra.length > 0) throw new UsageError('give exactly one username');
      return withAccounts((deps, store) =>
        changePassword(username, { ...deps, sessions: { endSessionsOf: (userId) => store.destroyForUser(userId) } }),
      );
    },
  },
  resetsecondfactor: {
    summary: "turn a user's two-factor authentication off (a lost phone) and end their sessions",
    help: RESETSECONDFACTOR_HELP,
    run(argv) {
      const { positionals } = parseOptions(argv, {}, true);
      const [username, ...extra] = positionals;
      if (username === undefined || extra.length > 0) throw new UsageError('give exactly one username');
      return withAccounts((deps, store) =>
        resetSecondFactorCommand(username, {
          ...deps,
          sessions: { endSessionsOf: (userId) => store.destroyForUser(userId) },
        }),
      );
    },
  },
  clearsessions: {
    summary: 'delete the sessions that are over and print how many (schedule it daily)',
    help: `Usage: npm run manage -- clearsessions

Deletes the sessions past their idle or absolute timeout from the session store (SESSION_STORE) and prints
how many. Run it daily, e.g. from cron:  17 3 * * *  cd /srv/app && npm run -s manage -- clearsessions
(Redis expires its keys by itself; the command then only tidies the per-user index.)`,
    async run(argv) {
      noArguments(argv);
      loadEnvFile();
      const config = loadConfig();
      const logger = createLogger('warn');
      const database = await openDatabase(config.database, logger, { migrate: false, shareRunningServer: true });
      const store = createStores(config.session, { database, clock: systemClock, logger }).sessions;
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
  },
  pruneaudit: {
    summary: 'delete the audit events older than AUDIT_RETENTION_DAYS and print how many (schedule it daily)',
    help: `Usage: npm run manage -- pruneaudit [--days N]

Deletes the audit events (gqlauth_audit_event) older than AUDIT_RETENTION_DAYS days, or --days N, and prints how
many. 0 keeps them forever: nothing is deleted. Run it daily, e.g. from cron:
  23 3 * * *  cd /srv/app && npm run -s manage -- pruneaudit
The only way rows leave the log: the table refuses any other UPDATE, DELETE or TRUNCATE.`,
    async run(argv) {
      const { values } = parseOptions(argv, { days: { type: 'string' } });
      const days = values.days === undefined ? undefined : Number(values.days);
      if (days !== undefined && !(/^\d+$/.test(values.days ?? '') && days <= 36_500))
        throw new UsageError('--days takes a whole number of days, 0 to 36500');
      loadEnvFile();
      const config = loadConfig();
      const retentionDays = days ?? config.audit.retentionDays;
      const cutoff = retentionCutoff(retentionDays, systemClock.now());
      if (cutoff === null) {
        console.log('audit events are kept forever (AUDIT_RETENTION_DAYS=0): none deleted');
        return 0;
      }
      const database = await openDatabase(config.database, createLogger('warn'), {
        migrate: false,
        shareRunningServer: true,
      });
      try {
        const deleted = await pruneAuditEvents(database.orm.em.fork(), cutoff);
        console.log(`${deleted} audit event(s) older than ${retentionDays} day(s) deleted`);
        return 0;
      } catch (error) {
        // 42P01, undefined_table: a database that was never migrated.
        if ((error as { code?: unknown }).code !== '42P01') throw error;
        console.error('error: the database has no audit table: run `npm run migrate` first');
        return 1;
      } finally {
        await database.close();
      }
    },
  },
  permissions: {
    summary: 'print every field a client can reach and what it requires',
    help: `Usage: npm run manage -- permissions

Prints every field a client can reach (every operation, and every field of every type they return) with what it
requires (public, login, permissions, object permissions, named policies), one per line: the manifest committed as
schema/permissions.txt (regenerate it with npm run -s manage -- permissions > schema/permissions.txt).`,
    async run(argv) {
      noArguments(argv);
      loadEnvFile();
      const config = await loadExtensions(loadConfig());
      process.stdout.write(schemaManifest(buildSchema(schemaOf(installedApps(config)))));
      return 0;
    },
  },
  'seed-demo': {
    summary: "create demo groups, users and the installed apps' data to explore at /graphql (not in production)",
    help: `Usage: npm run manage -- seed-demo

Creates the demo groups (Editors, Viewers), users (admin, editor, viewer; passwords in the README) and the
installed apps' demo data (INSTALLED_APPS: the polls example's polls, and its permissions for the groups),
migrating the database first. Idempotent. Refused when NODE_ENV=production.`,
    async run(argv) {
      noArguments(argv);
      loadEnvFile();
      const config = await loadExtensions(loadConfig());
      if (config.isProduction) {
        // Demo users have passwords printed in the README: never in production.
        console.error('error: seed-demo refuses to run with NODE_ENV=production');
        return 1;
      }
      const apps = installedApps(config);
      const database = await openDatabase(config.database, createLogger('warn'), {
        migrate: true,
        shareRunningServer: true,
        apps,
      });
      try {
        const created = await seedDemo(database.orm.em.fork(), createAuth(config), apps);
        for (const line of created) console.log(`created ${line}`);
        console.log(created.length > 0 ? `demo data ready (${database.location})` : 'demo data already there');
        return 0;
      } finally {
        await database.close();
      }
    },
  },
};

/** The longest command's name, and two spaces: every summary starts in one column. */
const NAME_WIDTH = Math.max(...Object.keys(commands).map((name) => name.length)) + 2;

const HELP = `Usage: npm run manage -- <command> [options]     (installed: gqlauth-manage <command> [options])

Commands:
${Object.entries(commands)
  .map(([name, command]) => `  ${name.padEnd(NAME_WIDTH)}${command.summary}`)
  .join('\n')}

npm run manage -- <command> --help   tells more about one.`;

/** How long a command waits for its audit events to be written before it closes the database. */
const AUDIT_FLUSH_MS = 5000;

type OptionSpec = Record<string, { type: 'string' | 'boolean' }>;

function parseOptions<T extends OptionSpec>(argv: string[], options: T, allowPositionals = false) {
  try {
    return parseArgs({ args: argv, options, strict: true, allowPositionals });
  } catch (error) {
    // node:util's messages name the option: "Unknown option '--usernmae'".
    throw new UsageError(error instanceof Error ? error.message : String(error));
  }
}

/** Opens the database (migrated) and the session store around an account command, with a prompter. */
async function withAccounts(run: (deps: AccountCommandDeps, store: SessionStore) => Promise<number>): Promise<number> {
  loadEnvFile();
  const config = await loadExtensions(loadConfig());
  const logger = createLogger('warn');
  const database = await openDatabase(config.database, logger, {
    migrate: true,
    shareRunningServer: true,
    apps: installedApps(config),
  });
  const store = createStores(config.session, { database, clock: systemClock, logger }).sessions;
  const prompter = createPrompter();
  const auth = createAuth(config);
  // What a command changes is in the audit log as what a request changes is (with no actor: an operator ran it).
  const audit = new AuditRecorder(databaseWrite(database.orm.em), { logger, queueLimit: config.audit.queueLimit });
  audit.listen(auth.events, systemClock);
  try {
    await store.open();
    return await run(
      {
        em: database.orm.em.fork(),
        auth,
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
    await audit.close(AUDIT_FLUSH_MS);
    await store.close();
    await database.close();
  }
}

async function main([name, ...rest]: string[]): Promise<number> {
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    if (name === undefined) console.error(HELP);
    else console.log(HELP);
    return name === undefined ? 1 : 0;
  }
  const command = Object.hasOwn(commands, name) ? commands[name] : undefined;
  if (!command) {
    console.error(`error: unknown command ${JSON.stringify(name)}\n\n${HELP}`);
    return 1;
  }
  return runCommand(command, rest);
}

void main(process.argv.slice(2)).then((code) => {
  process.exitCode = code;
});
