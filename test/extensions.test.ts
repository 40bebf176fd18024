/**
 * Extension points (issue 20, item 5): AUTHENTICATION_BACKENDS, PASSWORD_HASHERS and PASSWORD_VALIDATORS take a
 * module path or a package name besides the built-in names, and EVENT_LISTENERS subscribes an app's listeners. The
 * examples of docs/extending.md (examples/extensions/) are loaded through the settings, as an operator sets them, and
 * run over GraphQL over HTTP; so are asynchronous validators, on every path that sets a password. A package is found
 * from the working directory, as in an operator's own project. A module that cannot be loaded, or is not what the
 * setting needs, stops the start with one line.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { loadExtensions } from '../src/auth/extensions.js';
import { createAuth } from '../src/auth/index.js';
import { encodeUid } from '../src/auth/password-reset.js';
import { validatePassword } from '../src/auth/password-validation.js';
import { loadConfig } from '../src/config/index.js';
import { User } from '../src/entities/user.js';
import { createTestApp, type TestApp } from './support/app.js';
import { CHEAP_HASHING } from './support/auth.js';
import { createTestDatabase, databaseEnv, scratchDir, type TestDatabase } from './support/database.js';
import { HttpClient } from './support/http-client.js';
import { runManage, spawnServer, timeExit } from './support/process.js';
import { loggedInClient, whoAmI } from './support/sessions.js';
import { selectOne } from '../src/db/sql.js';

const LOGIN = 'mutation ($u: String!, $p: String!) { login(username: $u, password: $p) { username } }';
const REGISTER =
  'mutation ($u: String!, $p: String!) { register(input: { username: $u, email: "bob@example.com", password: $p }) { username } }';

describe('the examples, loaded through the settings', () => {
  let app: TestApp;
  const auditLog = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'audit-')), 'audit.log');
  const auditEvents = () =>
    fs
      .readFileSync(auditLog, 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((line) => {
        const event = JSON.parse(line) as Record<string, unknown>;
        delete event.at; // the time of each, which the test does not fix
        return event;
      });

  beforeAll(async () => {
    process.env.AUDIT_LOG = auditLog; // read by the audit listener when it is loaded
    app = await createTestApp({
      env: {
        AUTHENTICATION_BACKENDS: 'model,./examples/extensions/ldap-backend.ts',
        PASSWORD_HASHERS: './examples/extensions/pbkdf2-sha512-hasher.ts,argon2',
        PASSWORD_VALIDATORS: 'min_length,./examples/extensions/company-name-validator.ts',
        EVENT_LISTENERS: './test/fixtures/extensions/throwing-listener.ts,./examples/extensions/audit-listener.ts',
        REGISTRATION_OPEN: 'true',
      },
    });
  });
  afterAll(() => app.stop());

  /** Who a login logs in (or its error code), and who `me` is afterwards. */
  async function logIn(username: string, password: string) {
    const client = new HttpClient(app.url);
    const { body } = await client.graphql<{ login: { username: string } }>(LOGIN, { u: username, p: password });
    return { login: body.data?.login.username ?? body.errors?.[0]?.extensions?.code, me: await whoAmI(client) };
  }

  it('logs a user of a module-path backend in over GraphQL, and refuses a wrong password', async () => {
    expect(await logIn('ada', 'analytical-engine-1843')).toEqual({ login: 'ada', me: 'ada' });
    // A second login finds the local user the first one created.
    expect(await logIn('ada', 'analytical-engine-1843')).toEqual({ login: 'ada', me: 'ada' });
    expect(await logIn('ada', 'difference-engine')).toEqual({ login: 'INVALID_CREDENTIALS', me: null });
    expect(await logIn('mallory', 'analytical-engine-1843')).toEqual({ login: 'INVALID_CREDENTIALS', me: null });
  });

  it("refuses a password with the custom validator's code, and hashes new passwords with the custom hasher", async () => {
    const refused = await new HttpClient(app.url).graphql(REGISTER, { u: 'bob', p: 'acme-rocket-skates' });
    expect(refused.body.errors?.[0]?.extensions).toMatchObject({
      code: 'BAD_USER_INPUT',
      validationErrors: [
        {
          code: 'password_contains_company_name',
          message: 'The password must not contain "acme".',
          field: 'password',
        },
      ],
    });
    const registered = await new HttpClient(app.url).graphql(REGISTER, { u: 'bob', p: 'road-runner-beep' });
    expect(registered.body).toEqual({ data: { register: { username: 'bob' } } });
    const row = await selectOne<{ password: string }>(
      app.database.orm.em.fork(),
      "SELECT password FROM auth_user WHERE username = 'bob'",
    );
    expect(row?.password).toMatch(/^pbkdf2_sha512\$210000\$[\w-]+\$[\w+/=]+$/);
    expect(await logIn('bob', 'road-runner-beep')).toEqual({ login: 'bob', me: 'bob' });
  });

  it('tells the listeners of each event; a listener that throws fails no login', () => {
    const events = auditEvents();
    expect(events).toContainEqual({ event: 'logged_in', username: 'ada', backend: 'ldap' });
    expect(events).toContainEqual({ event: 'login_failed', username: 'mallory' });
    expect(events).toContainEqual({ event: 'logged_in', username: 'bob', backend: 'model' });
  });
});

describe('a module that cannot serve', () => {
  const problem = (env: Record<string, string>) =>
    loadExtensions(loadConfig(env)).then(
      () => 'loaded',
      (error: unknown) => (error instanceof Error ? `${error.name}: ${error.message}` : String(error)),
    );

  it.each([
    [
      { AUTHENTICATION_BACKENDS: 'model,./backends/ldap.js' },
      'ImproperlyConfigured: AUTHENTICATION_BACKENDS names ./backends/ldap.js, which cannot be loaded: there is no such file (relative paths start from the working directory)',
    ],
    [
      { AUTHENTICATION_BACKENDS: 'model,ldap' },
      'ImproperlyConfigured: AUTHENTICATION_BACKENDS names ldap, which is no built-in (model, email) and no installed package',
    ],
    [
      { PASSWORD_HASHERS: 'argon2,./test/fixtures/extensions/not-a-hasher.ts' },
      'ImproperlyConfigured: PASSWORD_HASHERS names ./test/fixtures/extensions/not-a-hasher.ts, whose default export is not a password hasher: it needs algorithm (letters, digits, _), encode() and verify()',
    ],
    [
      { PASSWORD_VALIDATORS: './test/fixtures/extensions/no-default-export.ts' },
      'ImproperlyConfigured: PASSWORD_VALIDATORS names ./test/fixtures/extensions/no-default-export.ts, which has no default export',
    ],
    [
      { EVENT_LISTENERS: './test/fixtures/extensions/not-a-hasher.ts' },
      'ImproperlyConfigured: EVENT_LISTENERS names ./test/fixtures/extensions/not-a-hasher.ts, whose default export is not a function that subscribes listeners: it needs (events) => void',
    ],
  ])('%j stops the start: %s', async (env, message) => {
    expect(await problem(env)).toBe(message);
  });

  it('stops the server with that one line and exit code 1', async () => {
    const server = spawnServer({ AUTHENTICATION_BACKENDS: 'model,./backends/ldap.js', DATA_DIR: os.tmpdir() });
    expect((await timeExit(server)).code).toBe(1);
    expect(server.stderr.join('').trim()).toBe(
      'error: AUTHENTICATION_BACKENDS names ./backends/ldap.js, which cannot be loaded: there is no such file (relative paths start from the working directory)',
    );
  });
});

describe('asynchronous password validators, on every path that sets a password', () => {
  const VALIDATORS = [
    'min_length',
    './test/fixtures/extensions/breached-password-validator.ts', // returns its refusal after an await
    'numeric',
    './test/fixtures/extensions/raising-validator.ts', // throws a ValidationError after an await
  ].join(',');
  const SHORT = {
    code: 'password_too_short',
    message: 'This password is too short. It must contain at least 8 characters.',
  };
  const BREACHED = { code: 'password_breached', message: 'This password has appeared in a data breach.' };
  const NUMERIC = { code: 'password_entirely_numeric', message: 'This password is entirely numeric.' };
  const YEAR = { code: 'password_contains_year', message: 'The password must not contain a year.' };
  const CHANGE = 'mutation ($old: String!, $new: String!) { changePassword(oldPassword: $old, newPassword: $new) }';
  const RESET =
    'mutation ($uid: ID!, $token: String!, $pw: String!) { resetPassword(uid: $uid, token: $token, newPassword: $pw) }';
  const SET = 'mutation ($id: ID!, $pw: String!) { setUserPassword(id: $id, password: $pw) }';
  const CREATE = 'mutation ($pw: String!) { createUser(input: { username: "erin", password: $pw }) { username } }';

  let app: TestApp;
  let carol: User;
  const em = () => app.database.orm.em.fork();
  beforeAll(async () => {
    app = await createTestApp({
      env: { ...CHEAP_HASHING, PASSWORD_VALIDATORS: VALIDATORS, REGISTRATION_OPEN: 'true' },
    });
    const auth = createAuth(app.config);
    await auth.users.createSuperuser(em(), {
      username: 'root',
      email: 'root@example.com',
      password: 'root-password-1',
    });
    carol = await auth.users.createUser(em(), {
      username: 'carol',
      email: 'carol@example.com',
      password: 'carols-password-1',
    });
  });
  afterAll(() => app.stop());

  /** What a client is told of a refused password: every issue, named by the input that carried the password. */
  async function refusal(client: HttpClient, query: string, variables: Record<string, unknown>) {
    const response = await client.graphql(query, variables);
    return { data: response.body.data, extensions: response.body.errors?.[0]?.extensions };
  }
  const refused = (field: string, ...issues: { code: string; message: string }[]) => ({
    data: null,
    extensions: {
      code: 'BAD_USER_INPUT',
      requestId: expect.any(String),
      validationErrors: issues.map((issue) => ({ ...issue, field })),
    },
  });

  it('register: every refusal listed, the asynchronous ones in the configured order', async () => {
    const client = new HttpClient(app.url);
    expect(await refusal(client, REGISTER, { u: 'dave', p: 'summer2024' })).toEqual(
      refused('password', BREACHED, YEAR),
    );
    expect(await refusal(client, REGISTER, { u: 'dave', p: '1999' })).toEqual(
      refused('password', SHORT, NUMERIC, YEAR),
    );
    expect((await client.graphql(REGISTER, { u: 'dave', p: 'road-runner-beep' })).body).toEqual({
      data: { register: { username: 'dave' } },
    });
  });

  it('changePassword and resetPassword refuse the new password, which is not set', async () => {
    const client = await loggedInClient(app.url, 'carol', 'carols-password-1');
    expect(await refusal(client, CHANGE, { old: 'carols-password-1', new: 'summer2024' })).toEqual(
      refused('newPassword', BREACHED, YEAR),
    );
    const { passwordReset } = createAuth(app.config);
    const [user] = await passwordReset.usersFor(em(), 'carol@example.com');
    if (!user) throw new Error('carol gets no reset link');
    const token = passwordReset.token(user);
    expect(await refusal(new HttpClient(app.url), RESET, { uid: encodeUid(carol.id), token, pw: 'hunter2' })).toEqual(
      refused('newPassword', SHORT, BREACHED),
    );
    expect(await whoAmI(await loggedInClient(app.url, 'carol', 'carols-password-1'))).toBe('carol');
  });

  it('the admin API refuses them in setUserPassword and createUser', async () => {
    const root = await loggedInClient(app.url, 'root', 'root-password-1');
    expect(await refusal(root, SET, { id: String(carol.id), pw: 'summer2024' })).toEqual(
      refused('password', BREACHED, YEAR),
    );
    expect(await refusal(root, CREATE, { pw: '2001' })).toEqual(refused('password', SHORT, NUMERIC, YEAR));
    expect(await em().count(User, { username: 'erin' })).toBe(0);
    expect(await whoAmI(await loggedInClient(app.url, 'carol', 'carols-password-1'))).toBe('carol');
  });

  describe('createsuperuser', () => {
    let database: TestDatabase;
    beforeAll(async () => {
      database = await createTestDatabase();
    });
    afterAll(() => database.drop());
    const run = (args: string[], env: Record<string, string>, input?: string) =>
      runManage(args, { ...databaseEnv(database), ...CHEAP_HASHING, PASSWORD_VALIDATORS: VALIDATORS, ...env }, input);

    it('prints every refusal, prompted or with --no-input', async () => {
      const answers = ['summer2024', 'summer2024', 'road-runner-beep', 'road-runner-beep', ''];
      const prompted = await run(['createsuperuser', '--username', 'frank', '--email', ''], {}, answers.join('\n'));
      expect({ code: prompted.code, err: prompted.err }).toEqual({
        code: 0,
        err: [`Error: ${BREACHED.message}`, `Error: ${YEAR.message}`],
      });
      const unprompted = await run(['createsuperuser', '--no-input'], {
        SUPERUSER_USERNAME: 'grace',
        SUPERUSER_PASSWORD: '1999',
      });
      expect({ code: unprompted.code, err: unprompted.err }).toEqual({
        code: 1,
        err: [`Error: ${SHORT.message}`, `Error: ${NUMERIC.message}`, `Error: ${YEAR.message}`],
      });
    });
  });
});

describe('an extension named by package name, installed in the working directory', () => {
  /** A validator as a team would publish it: plain ESM, asynchronous. */
  const VALIDATOR = `export default {
  async validate(password) {
    await Promise.resolve();
    if (!password.toLowerCase().includes('acme')) return null;
    return { code: 'password_contains_company_name', message: 'The password must not contain "acme".', field: 'password' };
  },
};
`;
  const ACME = {
    code: 'password_contains_company_name',
    message: 'The password must not contain "acme".',
    field: 'password',
  };
  let project: string;

  /** Writes `files` (relative path -> contents) under the project's node_modules. */
  function install(files: Record<string, string | object>) {
    for (const [name, contents] of Object.entries(files)) {
      const file = path.join(project, 'node_modules', name);
      fs.mkdirSync(path.dirname(file), { recursive: true });
      fs.writeFileSync(file, typeof contents === 'string' ? contents : JSON.stringify(contents));
    }
  }

  beforeAll(() => {
    project = scratchDir('project');
    fs.writeFileSync(path.join(project, 'package.json'), JSON.stringify({ name: 'my-site', private: true }));
    install({
      // ESM only: its exports have an "import" condition and nothing a require() could resolve.
      'acme-password-rules/package.json': {
        name: 'acme-password-rules',
        type: 'module',
        exports: { import: './index.js' },
      },
      'acme-password-rules/index.js': VALIDATOR,
      'acme-password-rules/internal.js': VALIDATOR,
      // Scoped, with a subpath pattern under conditions.
      '@acme/auth/package.json': {
        name: '@acme/auth',
        type: 'module',
        exports: { './*': { types: './types/*.d.ts', node: { import: './lib/*', require: './cjs/*' } } },
      },
      '@acme/auth/lib/validator.js': VALIDATOR,
      // No exports: its main.
      'old-acme-rules/package.json': { name: 'old-acme-rules', type: 'module', main: 'lib/main.js' },
      'old-acme-rules/lib/main.js': VALIDATOR,
    });
    // Beside node_modules, not in any package: a subpath that climbs out of one must not reach it.
    fs.writeFileSync(path.join(project, 'outside.js'), VALIDATOR);
  });

  const problem = (setting: Record<string, string>) =>
    loadExtensions(loadConfig(setting), project).then(
      () => 'loaded',
      (error: unknown) => (error instanceof Error ? `${error.name}: ${error.message}` : String(error)),
    );

  it.each(['acme-password-rules', '@acme/auth/validator.js', 'old-acme-rules'])(
    '%s is loaded from the working directory and refuses passwords',
    async (name) => {
      const { passwords } = await loadExtensions(loadConfig({ PASSWORD_VALIDATORS: `min_length,${name}` }), project);
      expect(await validatePassword('acme-rocket-skates', passwords)).toEqual([ACME]);
      expect(await validatePassword('acme', passwords)).toEqual([
        {
          code: 'password_too_short',
          message: 'This password is too short. It must contain at least 8 characters.',
          field: 'password',
        },
        ACME,
      ]);
      expect(await validatePassword('road-runner-beep', passwords)).toEqual([]);
    },
  );

  it.each([
    [
      'acme-rules',
      'ImproperlyConfigured: PASSWORD_VALIDATORS names acme-rules, which is no built-in (similarity, min_length, common, numeric) and no installed package',
    ],
    [
      '@acme/rules/validator.js',
      'ImproperlyConfigured: PASSWORD_VALIDATORS names @acme/rules/validator.js, which is no built-in (similarity, min_length, common, numeric) and no installed package',
    ],
    [
      'acme-password-rules/internal.js',
      'ImproperlyConfigured: PASSWORD_VALIDATORS names acme-password-rules/internal.js, which cannot be loaded: the package exports no ./internal.js to import',
    ],
    [
      'old-acme-rules/../../outside.js',
      'ImproperlyConfigured: PASSWORD_VALIDATORS names old-acme-rules/../../outside.js, which cannot be loaded: the package has no ./../../outside.js inside it',
    ],
  ])('%s stops the start: %s', async (name, message) => {
    expect(await problem({ PASSWORD_VALIDATORS: name })).toBe(message);
  });

  it('is in force in a command run from that directory', async () => {
    const database = await createTestDatabase();
    try {
      const result = await runManage(
        ['createsuperuser', '--no-input'],
        {
          ...databaseEnv(database),
          ...CHEAP_HASHING,
          PASSWORD_VALIDATORS: 'acme-password-rules',
          SUPERUSER_USERNAME: 'wile',
          SUPERUSER_PASSWORD: 'acme-rocket-skates',
        },
        undefined,
        project,
      );
      expect({ code: result.code, err: result.err }).toEqual({ code: 1, err: [`Error: ${ACME.message}`] });
    } finally {
      await database.drop();
    }
  });
});
