/**
 * Checks of what the settings point to: the schema (every field decided, every permission known), the database
 * (reachable, migrated, none of the project's tables or triggers missing), the accounts the backends can log in
 * (logins.ts) and the session store (reachable). With `deploy`, also: a superuser exists.
 *
 * Nothing is changed: the database is opened without migrating, and closed again.
 */
import type { GraphQLSchema } from 'graphql';
import { installedApps, schemaOf } from '../apps.js';
import { systemClock } from '../auth/clock.js';
import type { Config } from '../config/index.js';
import { DatabaseMissingError, DatabaseUnreachableError, openDatabase, type Database } from '../db/database.js';
import { DataDirLockedError } from '../db/embedded.js';
import { AUTHORIZATION_TRIGGER, missingProjectObjects } from '../db/project-tables.js';
import { selectOne } from '../db/sql.js';
import { SchemaGuardError } from '../graphql/directives/index.js';
import { buildSchema, permissionProblemsIn } from '../graphql/schema.js';
import { createStores } from '../stores/create-stores.js';
import type { Logger } from '../logger.js';
import { error, warning, type CheckResult } from './index.js';
import { loginChecks } from './logins.js';

export interface SystemCheckOptions {
  deploy: boolean;
  logger: Logger;
  /** The schema to check instead of the project's (tests). */
  buildSchema?: () => GraphQLSchema;
}

export async function systemChecks(config: Config, options: SystemCheckOptions): Promise<CheckResult[]> {
  const results: CheckResult[] = [];
  let schema: GraphQLSchema | undefined;
  try {
    schema = options.buildSchema ? options.buildSchema() : buildSchema(schemaOf(installedApps(config)));
  } catch (problem) {
    if (!(problem instanceof SchemaGuardError)) throw problem;
    results.push(
      error(
        'schema.E001',
        `The schema cannot be served: ${problem.problems.join('; ')}.`,
        'Give every type reachable from Query, Mutation or Subscription a guard (@auth, @hasPerm, @policy or @public), or each of its fields one; name only registered policies.',
      ),
    );
  }

  let database: Database;
  try {
    // Checks run beside a running server too: on the embedded database, through its socket.
    database = await openDatabase(config.database, options.logger, {
      migrate: false,
      shareRunningServer: true,
      apps: installedApps(config),
    });
  } catch (problem) {
    const known =
      problem instanceof DatabaseUnreachableError ||
      problem instanceof DatabaseMissingError ||
      problem instanceof DataDirLockedError;
    if (!known) throw problem;
    results.push(
      error(
        'database.E001',
        `The database cannot be used: ${problem.message}.`,
        problem instanceof DataDirLockedError
          ? 'Commands reach the database through the server that has DATA_DIR open; when it does not answer, stop that process (or delete DATA_DIR/server.pid if it is not a server) and run them again.'
          : problem instanceof DatabaseMissingError
            ? 'Create it (`npm run manage -- createdb`), or fix the database name in DATABASE_URL.'
            : 'Start PostgreSQL, or fix DATABASE_URL (host, port, credentials, database name).',
      ),
    );
    return results;
  }
  try {
    results.push(...(await databaseChecks(config, database, schema, options.deploy)));
    results.push(...(await sessionStoreChecks(config, database, options.logger)));
  } finally {
    await database.close();
  }
  return results;
}

async function databaseChecks(
  config: Config,
  database: Database,
  schema: GraphQLSchema | undefined,
  deploy: boolean,
): Promise<CheckResult[]> {
  const pending = (await database.orm.migrator.getPending()).map((migration) => migration.name);
  if (pending.length > 0) {
    const names = pending.join(', ');
    // Until they run, the permissions and tables the other checks look at may not exist yet.
    return [
      config.database.migrateOnStart
        ? warning(
            'database.W003',
            `${pending.length} migration(s) are not applied yet (${names}); the server applies them when it starts (MIGRATE_ON_START=true).`,
            'Nothing to do, or run `npm run migrate` now to apply them first.',
          )
        : error(
            'database.E002',
            `${pending.length} migration(s) are not applied (${names}) and MIGRATE_ON_START=false: the server would run against tables it does not expect.`,
            'Run `npm run migrate` (a deployment step) before starting the server.',
          ),
    ];
  }
  const missing = await missingProjectObjects(database.orm.em.fork());
  if (missing.tables.length > 0)
    // Every migration is applied, so `migrate` will not bring them back; and the checks below would query them.
    return [
      error(
        'database.E003',
        `The database lacks the project's table(s) ${missing.tables.join(', ')}, although every migration is applied: the server cannot work without them (logins would answer SERVICE_UNAVAILABLE).`,
        'A migration or a hand-made change dropped them: restore them from a backup, or undo that change. `npm run migrate` does not recreate the tables of migrations already applied.',
      ),
    ];
  const results: CheckResult[] = [];
  if (missing.triggers.length > 0)
    results.push(
      error(
        'database.E004',
        `The trigger ${AUTHORIZATION_TRIGGER} is missing or disabled on ${missing.triggers.join(', ')}: running servers would keep using permissions and group memberships changed since they read them.`,
        `Recreate it on each: CREATE TRIGGER ${AUTHORIZATION_TRIGGER} AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON <table> FOR EACH STATEMENT EXECUTE FUNCTION gqlauth_bump_authz_version() (or ALTER TABLE <table> ENABLE TRIGGER ${AUTHORIZATION_TRIGGER}).`,
      ),
    );
  if (schema) {
    const unknown = await permissionProblemsIn(database.orm.em.fork(), schema);
    if (unknown.length > 0)
      results.push(
        error(
          'schema.E002',
          `The schema names permissions that do not exist, or asks them about another model's objects: ${unknown.join('; ')}.`,
          "Fix the typo in @hasPerm, or add the model that defines the permission and run `npm run migrate`; ask a model's objects about its own permissions (a @policy for another rule).",
        ),
      );
  }
  // Logins that the configured backends make impossible break the server anywhere, not only in production.
  results.push(...(await loginChecks(config, database.orm.em.fork())));
  if (deploy) {
    const superusers = await selectOne<{ count: string }>(
      database.orm.em.fork(),
      'SELECT count(*) AS count FROM auth_user WHERE is_superuser AND is_active',
    );
    if (Number(superusers?.count ?? 0) === 0)
      results.push(
        warning(
          'auth.W001',
          'No active superuser exists: nobody can manage users, groups or permissions through the admin API.',
          'Run `npm run manage -- createsuperuser` (or with --no-input and SUPERUSER_* in the environment).',
        ),
      );
  }
  return results;
}

async function sessionStoreChecks(config: Config, database: Database, logger: Logger): Promise<CheckResult[]> {
  // The PostgreSQL store lives in the database just checked; only Redis is somewhere else.
  if (config.session.store.kind !== 'redis') return [];
  const store = createStores(config.session, { database, clock: systemClock, logger }).sessions;
  try {
    await store.open();
    if (await store.ping()) return [];
    return [storeDown('it did not answer PING in time')];
  } catch (problem) {
    return [storeDown(problem instanceof Error ? problem.message : String(problem))];
  } finally {
    await store.close();
  }
}

function storeDown(reason: string): CheckResult {
  return error(
    'sessions.E001',
    `The session store cannot be used: ${reason}. Every request with a session cookie would get 503.`,
    'Start Redis or fix REDIS_URL; or keep sessions in PostgreSQL with SESSION_STORE=postgres.',
  );
}
