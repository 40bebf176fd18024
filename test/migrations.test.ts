/**
 * Migrations: the committed list is complete, pending ones run on start in order and once, a failing batch
 * leaves nothing behind, and `npm run migrate` reports what it did.
 */
import fs from 'node:fs';
import { afterAll, afterEach, describe, expect, it } from '@jest/globals';
import type { MigrationObject } from '@mikro-orm/core';
import { Migration } from '@mikro-orm/migrations';
import { openDatabase, type Database } from '../src/db/database.js';
import { migrations } from '../src/db/migrations/index.js';
import { createEmptyDatabase, databaseEnv, type TestDatabase } from './support/database.js';
import { serverUrl, testLogger } from './support/env.js';
import { spawnServer } from './support/process.js';

class CreateAuthors extends Migration {
  override up(): void {
    this.addSql('CREATE TABLE authors (id serial PRIMARY KEY, name text NOT NULL)');
  }
}
class AddAuthorEmail extends Migration {
  override up(): void {
    this.addSql('ALTER TABLE authors ADD COLUMN email text');
  }
}
class Broken extends Migration {
  override up(): void {
    this.addSql('ALTER TABLE no_such_table ADD COLUMN x int');
  }
}

const list = (...classes: MigrationObject['class'][]): MigrationObject[] =>
  classes.map((migration) => ({ name: migration.name, class: migration }));

async function tables(database: Database): Promise<string[]> {
  const rows = await database.orm.em
    .getConnection()
    .execute<{ table_name: string }[]>(
      `SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' ORDER BY table_name`,
    );
  return rows.map((row) => row.table_name);
}

async function applied(database: Database): Promise<string[]> {
  return (await database.orm.migrator.getExecuted()).map((migration) => migration.name);
}

describe('migrations', () => {
  let testDatabase: TestDatabase | undefined;
  const open: Database[] = [];
  afterEach(async () => {
    for (const database of open.splice(0)) await database.close();
    await testDatabase?.drop();
    testDatabase = undefined;
  });

  it('lists every migration file in src/db/migrations/index.ts', () => {
    const folder = new URL('../src/db/migrations/', import.meta.url);
    const files = fs
      .readdirSync(folder)
      .filter((file) => file.endsWith('.ts') && file !== 'index.ts')
      .map((file) => file.replace(/\.ts$/, ''));
    expect(migrations.map((migration) => migration.name).sort()).toEqual(files.sort());
  });

  it('runs pending migrations on start, in order, and each only once', async () => {
    testDatabase = await createEmptyDatabase();
    const first = await openDatabase(testDatabase.config, testLogger, {
      migrations: list(CreateAuthors, AddAuthorEmail),
      models: [],
    });
    open.push(first);
    expect(await applied(first)).toEqual(['CreateAuthors', 'AddAuthorEmail']);
    expect(await tables(first)).toEqual(['authors', 'mikro_orm_migrations']);
    await first.close();

    const again = await openDatabase(testDatabase.config, testLogger, {
      migrations: list(CreateAuthors, AddAuthorEmail),
      models: [],
    });
    open.push(again);
    expect(await applied(again)).toEqual(['CreateAuthors', 'AddAuthorEmail']);
    expect(await again.orm.migrator.getPending()).toEqual([]);
  });

  it('applies nothing of a batch in which one migration fails, and reports the failure', async () => {
    testDatabase = await createEmptyDatabase();
    await expect(
      openDatabase(testDatabase.config, testLogger, { migrations: list(CreateAuthors, Broken), models: [] }),
    ).rejects.toThrow(/no_such_table/);

    const after = await openDatabase(testDatabase.config, testLogger, { migrate: false });
    open.push(after);
    expect(await tables(after)).not.toContain('authors');
    expect(await after.orm.migrator.getExecuted()).toEqual([]);
  });

  it('skips migrations when MIGRATE_ON_START is false', async () => {
    testDatabase = await createEmptyDatabase();
    const database = await openDatabase({ ...testDatabase.config, migrateOnStart: false }, testLogger, {
      migrations: list(CreateAuthors),
      models: [],
    });
    open.push(database);
    expect(await tables(database)).not.toContain('authors');
    expect((await database.orm.migrator.getPending()).map((migration) => migration.name)).toEqual(['CreateAuthors']);
  });
});

// Two processes migrating one database at once: only a server can have them (the embedded folder has a lock).
if (serverUrl()) {
  describe('servers starting together on one database', () => {
    let testDatabase: TestDatabase;
    afterAll(() => testDatabase.drop());

    it('apply each migration once: the others wait for the lock, then find nothing pending', async () => {
      testDatabase = await createEmptyDatabase();
      const opened = await Promise.all(
        Array.from({ length: 4 }, () =>
          openDatabase(testDatabase.config, testLogger, {
            migrations: list(CreateAuthors, AddAuthorEmail),
            models: [],
          }),
        ),
      );
      try {
        expect(await applied(opened[0] as Database)).toEqual(['CreateAuthors', 'AddAuthorEmail']);
      } finally {
        for (const database of opened) await database.close();
      }
    });
  });
}

describe('npm run migrate', () => {
  let testDatabase: TestDatabase | undefined;
  afterEach(() => testDatabase?.drop());

  it('migrates the configured database and says so', async () => {
    testDatabase = await createEmptyDatabase();
    const env = databaseEnv(testDatabase);
    const run = spawnServer(env, { entry: 'src/cli/migrate.ts' });
    expect(await run.exited).toBe(0);
    expect(run.stdout.filter(Boolean).at(-1)).toMatch(
      migrations.length > 0 ? /^\d+ migration\(s\) applied to / : /^no pending migrations \(/,
    );

    const again = spawnServer(env, { entry: 'src/cli/migrate.ts' });
    expect(await again.exited).toBe(0);
    expect(again.stdout.filter(Boolean).at(-1)).toMatch(/^no pending migrations \(/);

    const listed = spawnServer(env, { entry: 'src/cli/migrate.ts', args: ['--list'] });
    expect(await listed.exited).toBe(0);
    expect(listed.stdout.filter(Boolean)).toEqual([
      ...migrations.map((migration) => `[applied] ${migration.name}`),
      expect.stringMatching(new RegExp(`^${migrations.length} applied, 0 pending \\(`)),
    ]);
  });

  it('refuses an unknown argument with exit 1 and the usage', async () => {
    const bad = spawnServer({}, { entry: 'src/cli/migrate.ts', args: ['--bogus'] });
    expect(await bad.exited).toBe(1);
    expect(bad.stderr.join('\n')).toContain('error: unknown argument --bogus');
    expect(bad.stderr.join('\n')).toContain('Usage: npm run migrate');
  });
});
