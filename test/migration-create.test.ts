/**
 * The documented way to write a migration, `npx mikro-orm migration:create`, on a database this server migrated:
 * it writes nothing (it used to drop the sessions, lockout, authorization-version and guardian tables and the
 * triggers, and rename Django's constraints), and for an application's own entity it writes that entity's table
 * alone. On the embedded database, or on the server named by TEST_DATABASE_URL.
 */
import fs from 'node:fs';
import { afterEach, describe, expect, it } from '@jest/globals';
import { defineEntity, p } from '@mikro-orm/core';
import type { Options } from '@mikro-orm/postgresql';
import { openDatabase, type Database } from '../src/db/database.js';
import polls from '../examples/polls/index.ts';
import { skippingUnmodelled } from '../src/db/orm-options.js';
import { PROJECT_TABLES } from '../src/db/project-tables.js';
import { User } from '../src/entities/user.js';
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

/** The example in docs/identity.md of an application's own table, one-to-one with auth_user. */
const Profile = defineEntity({
  name: 'Profile',
  tableName: 'accounts_profile',
  properties: {
    user: () => p.oneToOne(User).primary().deleteRule('cascade'),
    phoneNumber: p.string().length(32),
  },
});

/**
 * The migration MikroORM's Migrator would write into an empty folder, its up statements: with the tables no entity
 * describes left out of the diff, as the CLI's configuration (mikro-orm.config.ts) leaves them.
 */
async function migrationFor(database: Database): Promise<{ files: string[]; up: string[] }> {
  const { config } = database.orm;
  const tables = await database.orm.em
    .getConnection()
    .execute<{ name: string }[]>(`SELECT tablename AS name FROM pg_tables WHERE schemaname = 'public'`);
  const options = skippingUnmodelled(
    config.getAll() as Options,
    tables.map((row) => row.name),
  );
  if (options.schemaGenerator)
    config.set('schemaGenerator', { ...config.get('schemaGenerator'), ...options.schemaGenerator });
  const folder = scratchDir('migrations');
  const { diff } = await database.orm.migrator.create(folder, false, false, 'billing');
  return { files: fs.readdirSync(folder), up: diff.up.filter(Boolean) };
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
    const folder = scratchDir('migrations');
    const cli = spawnServer(databaseEnv(testDatabase), {
      entry: 'node_modules/@mikro-orm/cli/cli.js',
      args: ['migration:create', '--name=billing', '--path', folder],
    });
    const { code } = await timeExit(cli);
    expect({ code, files: fs.readdirSync(folder) }).toEqual({ code: 0, files: [] });
    expect(cli.stdout.join('\n')).toContain('No changes required, schema is up-to-date');
  });

  it('the migrations create exactly the tables the schema diff leaves to them', async () => {
    testDatabase = await createTestDatabase();
    database = await openDatabase(testDatabase.config, testLogger, { migrate: false });
    const rows = await database.orm.em
      .getConnection()
      .execute<{ name: string }[]>(`SELECT tablename AS name FROM pg_tables WHERE schemaname = 'public'`);
    const tables = rows.map((row) => row.name).filter((name) => name !== 'mikro_orm_migrations');
    // The template installs the polls example (test/support/setup-run.ts): its tables are its migrations' too.
    expect(tables.sort()).toEqual([...PROJECT_TABLES, ...(polls.tables ?? [])].sort());
  });

  it("writes an application's own entity's table, and nothing else", async () => {
    testDatabase = await createTestDatabase();
    database = await openDatabase(testDatabase.config, testLogger, { migrate: false, entities: [Profile] });
    const { files, up } = await migrationFor(database);
    expect(files).toEqual([expect.stringMatching(/^Migration\d{14}_billing\.ts$/)]);
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
    expect(await migrationFor(database)).toEqual({ files: [], up: [] });
  });
});
