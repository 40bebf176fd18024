/**
 * The documented way to write a migration, `npx mikro-orm migration:create`, on a database this server migrated:
 * it writes nothing (it used to drop the sessions, lockout, authorization-version and guardian tables and the
 * triggers, and rename Django's constraints), and for an application's own entity it writes that entity's table
 * alone. On the embedded database, or on the server named by TEST_DATABASE_URL.
 */
import fs from 'node:fs';
import { afterEach, describe, expect, it } from '@jest/globals';
import path from 'node:path';
import { openDatabase, type Database } from '../src/db/database.js';
import polls from '../examples/polls/index.ts';
import { PROJECT_TABLES } from '../src/db/project-tables.js';
import {
  createEmptyDatabase,
  createTestDatabase,
  databaseEnv,
  scratchDir,
  type TestDatabase,
} from './support/database.js';
import { djangoFixtureSql } from './support/django-fixture.js';
import { testLogger } from './support/env.js';
import { spawnServer, timeExit } from './support/process.js';
import { clientUrl, withSql } from './support/sql.js';

/**
 * `npx mikro-orm migration:create --name=billing` into an empty folder, as a schema author runs it (with the apps
 * `env` installs): its exit code, the files it wrote, and their up statements.
 */
async function migrationCreate(testDatabase: TestDatabase, env: Record<string, string> = {}) {
  const folder = scratchDir('migrations');
  const cli = spawnServer(
    { ...databaseEnv(testDatabase), ...env },
    { entry: 'node_modules/@mikro-orm/cli/cli.js', args: ['migration:create', '--name=billing', '--path', folder] },
  );
  const { code } = await timeExit(cli);
  const files = fs.readdirSync(folder);
  const up = files.flatMap((file) => {
    const source = fs.readFileSync(path.join(folder, file), 'utf8');
    const upBody = source.slice(source.indexOf('up('), source.indexOf('down('));
    return [...upBody.matchAll(/this\.addSql\(`([^`]*)`\)/g)].map((match) => match[1]);
  });
  return { code, files, up, stdout: cli.stdout.join('\n') };
}

describe('migration:create on a migrated database', () => {
  let testDatabase: TestDatabase | undefined;
  let database: Database | undefined;
  afterEach(async () => {
    await database?.close();
    await testDatabase?.drop();
    database = undefined;
    testDatabase = undefined;
  });

  it('`npx mikro-orm migration:create --name=billing` writes no migration', async () => {
    testDatabase = await createTestDatabase();
    const { code, files, stdout } = await migrationCreate(testDatabase);
    expect({ code, files }).toEqual({ code: 0, files: [] });
    expect(stdout).toContain('No changes required, schema is up-to-date');
  });

  it('the migrations create exactly the tables the schema diff leaves to them', async () => {
    testDatabase = await createTestDatabase();
    database = await openDatabase(testDatabase.config, testLogger, { migrate: false });
    const rows = await database.orm.em
      .getConnection()
      .execute<{ name: string }[]>(`SELECT tablename AS name FROM pg_tables WHERE schemaname = 'public'`);
    const tables = rows.map((row) => row.name).filter((name) => name !== 'mikro_orm_migrations');
    // The template installs the polls example (test/support/setup-run.ts): its tables are its migrations' too.
    expect(tables.sort()).toEqual([...PROJECT_TABLES, ...polls.tables].sort());
  });

  it("writes an application's own entity's table, and nothing else", async () => {
    testDatabase = await createTestDatabase();
    // The profile of docs/identity.md, in an app of the schema author's (test/fixtures/apps/accounts.ts).
    const { code, files, up } = await migrationCreate(testDatabase, {
      INSTALLED_APPS: './test/fixtures/apps/accounts.ts',
    });
    expect({ code, files }).toEqual({ code: 0, files: [expect.stringMatching(/^Migration\d{14}_billing\.ts$/)] });
    expect(up).toEqual([
      expect.stringMatching(/^create table "accounts_profile" \(/),
      expect.stringMatching(/^alter table "accounts_profile" add constraint .* references "auth_user" \("id"\)/),
    ]);
  });

  it("on an adopted Django database, leaves Django's other tables (sessions, admin log, migrations) alone", async () => {
    testDatabase = await createEmptyDatabase();
    database = await openDatabase(testDatabase.config, testLogger, { migrate: false });
    await withSql(clientUrl(testDatabase, database), (client) => client.query(djangoFixtureSql()));
    await database.migrate();
    // Closed first: the embedded database is one process's at a time.
    await database.close();
    database = undefined;
    // The project's own polls app is not installed here: its tables, and the foreign key between them, are left as
    // they are (MikroORM would drop that key: `skippingUnmodelled` in src/db/orm-options.ts).
    const { code, files, up } = await migrationCreate(testDatabase);
    expect({ code, files, up }).toEqual({ code: 0, files: [], up: [] });
  });
});
