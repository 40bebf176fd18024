/**
 * Extension points (issue 20, item 5): AUTHENTICATION_BACKENDS, PASSWORD_HASHERS and PASSWORD_VALIDATORS take a
 * module path besides the built-in names, and EVENT_LISTENERS subscribes an app's listeners. The examples of
 * docs/extending.md (examples/extensions/) are loaded through the settings, as an operator sets them, and run over
 * GraphQL over HTTP. A module that cannot be loaded, or is not what the setting needs, stops the start with one line.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { loadExtensions } from '../src/auth/extensions.js';
import { loadConfig } from '../src/config/index.js';
import { createTestApp, type TestApp } from './support/app.js';
import { HttpClient } from './support/http-client.js';
import { spawnServer, timeExit } from './support/process.js';
import { whoAmI } from './support/sessions.js';
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
