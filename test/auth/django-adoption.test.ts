/**
 * A Django project's database, made by Django 3.2's own `migrate` (the shared fixture), adopted as it is:
 * `migrate` creates nothing that exists and changes no row, and every user logs in with the password Django
 * hashed, which is then rewritten as argon2id. Permissions come out as Django computes them.
 */
import { migrations } from '../../src/db/migrations/index.js';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createAuth, type Auth } from '../../src/auth/index.js';
import { loadConfig } from '../../src/config/index.js';
import { openDatabase, type Database } from '../../src/db/database.js';
import { User } from '../../src/entities/user.js';
import { createEmptyDatabase, createTestDatabase, type TestDatabase } from '../support/database.js';
import { DJANGO_PASSWORDS, djangoFixtureSql } from '../support/django-fixture.js';
import { testLogger } from '../support/env.js';
import { clientUrl, rowsOf, schemaOf, withSql, type SchemaSnapshot } from '../support/sql.js';

const DJANGO_TABLES = [
  'auth_user',
  'auth_group',
  'auth_permission',
  'django_content_type',
  'auth_user_groups',
  'auth_user_user_permissions',
  'auth_group_permissions',
  'django_session',
  'django_admin_log',
  'django_migrations',
  'polls_poll',
  'polls_choice',
];
/** The tables this server creates when they are missing: Django's auth and contenttypes tables, and the polls app's. */
const CREATED_TABLES = [...DJANGO_TABLES.slice(0, 7), 'polls_poll', 'polls_choice'];

const PASSWORDS = DJANGO_PASSWORDS;
/**
 * A schema without the tables that `migrate` adds to a Django database: MikroORM's migration tracking and this
 * server's own tables (sessions, lockout counters, the authorization version). Everything else must be exactly as
 * Django left it (the version's triggers on auth tables add no column, constraint or index).
 */
function withoutBookkeeping(schema: SchemaSnapshot): SchemaSnapshot {
  // The server's own tables and indexes (gqlauth_*: sessions, counters, the authorization version, the index for
  // logins by address), and those a Django project without django-guardian does not have; with guardian, its
  // tables are kept as they are.
  const ours = (line: string) =>
    /(^|[ .])(mikro_orm_migrations|gqlauth_\w+|guardian_userobjectpermission|guardian_groupobjectpermission)\b/.test(
      line,
    );
  return {
    columns: schema.columns.filter((line) => !ours(line)),
    constraints: schema.constraints.filter((line) => !ours(line)),
    indexes: schema.indexes.filter((line) => !ours(line)),
  };
}

const EDITORS = ['polls.add_choice', 'polls.add_poll', 'polls.change_poll', 'polls.view_choice', 'polls.view_poll'];
const VIEWERS = ['polls.view_choice', 'polls.view_poll'];

describe('adopting a Django 3.2 database', () => {
  let testDatabase: TestDatabase;
  let database: Database;
  let url: string;
  let auth: Auth;
  let before: { schema: SchemaSnapshot; rows: Record<string, string[]> };
  let applied: string[];

  beforeAll(async () => {
    testDatabase = await createEmptyDatabase();
    database = await openDatabase(testDatabase.config, testLogger, { migrate: false });
    url = clientUrl(testDatabase, database);
    await withSql(url, (client) => client.query(djangoFixtureSql()));
    before = await withSql(url, async (client) => ({
      schema: await schemaOf(client),
      rows: await rowsOf(client, DJANGO_TABLES),
    }));
    applied = await database.migrate();
    auth = createAuth(loadConfig({}));
  });
  afterAll(async () => {
    await database.close();
    await testDatabase.drop();
  });

  it('records the migrations as applied', () => {
    expect(applied).toEqual(migrations.map((migration) => migration.name));
  });

  it('keeps every table, column, constraint, index and row exactly as Django left them', async () => {
    const after = await withSql(url, async (client) => ({
      schema: await schemaOf(client),
      rows: await rowsOf(client, DJANGO_TABLES),
    }));
    // The only additions are the server's own (gqlauth_*), the migration-tracking and the object-permission tables.
    expect(withoutBookkeeping(after.schema)).toEqual(before.schema);
    // And, as Django's migrate adds an installed app's content types and permissions, the server's own model's
    // (gqlauth.accesstoken, whose permissions let staff manage service accounts' tokens): added, nothing changed.
    const added = (rows: string[]) => rows.filter((row) => !/"app_label":"gqlauth"|_accesstoken"/.test(row));
    expect(Object.fromEntries(Object.entries(after.rows).map(([table, rows]) => [table, added(rows)]))).toEqual(
      before.rows,
    );
    expect(after.rows.django_content_type?.filter((row) => row.includes('"app_label":"gqlauth"'))).toHaveLength(1);
  });

  it.each(['admin', 'alice', 'bob', 'carol', 'dave', 'erin'] as const)(
    '%s logs in with the password Django hashed',
    async (username) => {
      const em = database.orm.em.fork();
      const result = await auth.authenticate(em, { username, password: PASSWORDS[username] });
      expect({ username: result?.user.username, backend: result?.backend }).toEqual({ username, backend: 'model' });
    },
  );

  it('refuses frank (inactive) even with his password, and grace (unusable password) with any', async () => {
    const em = database.orm.em.fork();
    expect(await auth.authenticate(em, { username: 'frank', password: PASSWORDS.frank })).toBeNull();
    expect(await auth.authenticate(em, { username: 'grace', password: '' })).toBeNull();
    expect(await auth.authenticate(em, { username: 'grace', password: 'anything' })).toBeNull();
  });

  it('refuses a wrong password and an unknown user', async () => {
    const em = database.orm.em.fork();
    expect(await auth.authenticate(em, { username: 'alice', password: 'wonderland-43' })).toBeNull();
    expect(await auth.authenticate(em, { username: 'mallory', password: 'wonderland-42' })).toBeNull();
  });

  it('has rewritten the hashes of those who logged in as argon2id, and only the password column', async () => {
    const rows = await withSql(url, async (client) => {
      const { rows } = await client.query<{ username: string; password: string }>(
        'SELECT username, password FROM auth_user ORDER BY id',
      );
      return Object.fromEntries(rows.map((row) => [row.username, row.password.slice(0, 36)]));
    });
    const argon2id = 'argon2$argon2id$v=19$m=19456,t=2,p=1';
    expect(rows).toEqual({
      admin: argon2id,
      alice: argon2id,
      bob: argon2id,
      carol: argon2id,
      dave: argon2id,
      erin: argon2id,
      // frank's password was right, so his hash was upgraded too (as Django does); he still cannot log in.
      frank: argon2id,
      grace: expect.stringMatching(/^!/),
    });
    // Everything else in auth_user is as Django left it.
    const withoutPasswords = (lines: string[] | undefined) =>
      (lines ?? []).map((line) => JSON.stringify({ ...(JSON.parse(line) as object), password: undefined }));
    const after = await withSql(url, (client) => rowsOf(client, ['auth_user']));
    expect(withoutPasswords(after.auth_user)).toEqual(withoutPasswords(before.rows.auth_user));
  });

  it('the upgraded hashes still verify, and a second login does not rewrite them again', async () => {
    const em = database.orm.em.fork();
    const hash = async () =>
      (await em.findOneOrFail(User, { username: 'bob' }, { populate: ['password'], refresh: true })).password;
    const first = await hash();
    expect(await auth.authenticate(em, { username: 'bob', password: PASSWORDS.bob })).not.toBeNull();
    expect(await hash()).toBe(first);
  });

  it("computes every user's permissions as Django does", async () => {
    const em = database.orm.em.fork();
    const checker = auth.permissions(em);
    const permissionsOf = async (username: string) =>
      [...(await checker.getAllPermissions(await em.findOneOrFail(User, { username })))].sort();
    expect({
      alice: await permissionsOf('alice'),
      bob: await permissionsOf('bob'),
      carol: await permissionsOf('carol'),
      dave: await permissionsOf('dave'),
      erin: await permissionsOf('erin'),
      frank: await permissionsOf('frank'),
      grace: await permissionsOf('grace'),
    }).toEqual({
      alice: EDITORS,
      bob: VIEWERS,
      carol: ['polls.close_poll'],
      dave: EDITORS,
      erin: [],
      frank: [],
      grace: [],
    });
    const admin = await permissionsOf('admin');
    // Django's 33, and the server's own 4 (gqlauth.accesstoken's): a superuser holds every permission there is.
    expect(admin).toHaveLength(37);
    expect(admin).toEqual(expect.arrayContaining(['admin.add_logentry', 'polls.close_poll', 'sessions.view_session']));
  });
});

describe('a fresh database', () => {
  it("gets Django's auth and polls tables exactly as Django 3.2 creates them", async () => {
    const fresh = await createTestDatabase();
    const django = await createEmptyDatabase();
    const [freshDb, djangoDb] = await Promise.all([
      openDatabase(fresh.config, testLogger),
      openDatabase(django.config, testLogger, { migrate: false }),
    ]);
    try {
      const djangoUrl = clientUrl(django, djangoDb);
      await withSql(djangoUrl, (client) => client.query(djangoFixtureSql()));
      const ours = await withSql(clientUrl(fresh, freshDb), (client) => schemaOf(client, CREATED_TABLES));
      const theirs = await withSql(djangoUrl, (client) => schemaOf(client, CREATED_TABLES));
      expect(withoutBookkeeping(ours)).toEqual(theirs);
    } finally {
      await Promise.all([freshDb.close(), djangoDb.close()]);
      await Promise.all([fresh.drop(), django.drop()]);
    }
  });
});

describe('a Django database with a custom user model', () => {
  it('is refused with a clear reason, and left exactly as it was', async () => {
    const testDatabase = await createEmptyDatabase();
    const database = await openDatabase(testDatabase.config, testLogger, { migrate: false });
    try {
      const url = clientUrl(testDatabase, database);
      await withSql(url, async (client) => {
        await client.query(djangoFixtureSql());
        // What AUTH_USER_MODEL = 'accounts.User' leaves: the users live elsewhere.
        await client.query('ALTER TABLE auth_user RENAME TO accounts_user');
      });
      const before = await withSql(url, (client) => schemaOf(client));
      await expect(database.migrate()).rejects.toThrow(/custom AUTH_USER_MODEL/);
      expect(withoutBookkeeping(await withSql(url, (client) => schemaOf(client)))).toEqual(before);
    } finally {
      await database.close();
      await testDatabase.drop();
    }
  });
});
