/**
 * The documented way to write a migration, `npx mikro-orm migration:create`, on a database this server migrated:
 * it writes nothing (it used to drop the sessions, lockout, authorization-version and guardian tables and the
 * triggers, and rename Django's constraints), and for an application's own entity it writes that entity's table
 * alone. On the embedded database, or on the server named by TEST_DATABASE_URL.
 */
import fs from 'node:fs';
import { afterEach, describe, expect, it } from '@jest/globals';
import { openDatabase, type Database } from '../src/db/database.js';
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
import { Profile } from './support/profile.js';
import { clientUrl, withSql } from './support/sql.js';

/** The migration MikroORM's Migrator (what the CLI calls) would write into an empty folder: its up statements. */
async function migrationFor(database: Database): Promise<{ files: string[]; up: string[] }> {
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
    expect(tables.sort()).toEqual([...PROJECT_TABLES].sort());
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
