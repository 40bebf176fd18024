/**
 * The polls app as an operator installs it: through INSTALLED_APPS (its schema is served, and without it the server is
 * the package alone), with its own authentication backend and password validator named in the settings, over
 * GraphQL over HTTP. And what defineApp and INSTALLED_APPS refuse, with the one line an operator reads.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createAuth, defineApp, installedApps, loadConfig, loadExtensions } from 'graphql-auth-server';
import { createTestApp, type TestApp } from '../../test/support/app.js';
import { CHEAP_HASHING } from '../../test/support/auth.js';
import { HttpClient } from '../../test/support/http-client.js';

const LOGIN = 'mutation ($u: String!, $p: String!) { login(username: $u, password: $p) { username isStaff } }';
const REGISTER =
  'mutation ($u: String!, $p: String!) { register(input: { username: $u, email: "eve@example.com", password: $p }) { username } }';
const POLLS = '{ polls { totalCount } }';

describe('the polls app, with its backend and validator', () => {
  let app: TestApp;

  beforeAll(async () => {
    // Read by the organiser backend when the server loads it, as an operator's environment would set them.
    process.env.POLLS_ORGANISER_LOGIN = 'organiser';
    process.env.POLLS_ORGANISER_PASSWORD = await createAuth(loadConfig(CHEAP_HASHING)).passwords.hashers.make(
      'organiser-secret-1',
    );
    app = await createTestApp({
      env: {
        ...CHEAP_HASHING,
        INSTALLED_APPS: './examples/polls/index.ts',
        AUTHENTICATION_BACKENDS: './examples/polls/organiser-backend.ts,model',
        PASSWORD_VALIDATORS: 'min_length,./examples/polls/validator.ts',
        REGISTRATION_OPEN: 'true',
      },
    });
  });
  afterAll(async () => {
    await app.stop();
    delete process.env.POLLS_ORGANISER_LOGIN;
    delete process.env.POLLS_ORGANISER_PASSWORD;
  });

  /** A login's answer (the user, or the error code), and then the app's own field for that client. */
  async function logIn(username: string, password: string) {
    const client = new HttpClient(app.url);
    const { body } = await client.graphql<{ login: { username: string; isStaff: boolean } }>(LOGIN, {
      u: username,
      p: password,
    });
    const polls = await client.graphql<{ polls: { totalCount: number } }>(POLLS);
    return {
      login: body.data?.login ?? body.errors?.[0]?.extensions?.code,
      polls: polls.body.data?.polls ?? polls.body.errors?.[0]?.extensions?.code,
    };
  }

  it("logs the organiser in through the app's backend, as a staff user created at the first login", async () => {
    const first = await logIn('organiser', 'organiser-secret-1');
    // Logged in, and granted no poll yet: the list is filtered to none (an object-level list, not a refusal).
    expect(first).toEqual({ login: { username: 'organiser', isStaff: true }, polls: { totalCount: 0 } });
    // The second login finds that user; a wrong password, or another name with the right one, logs nobody in.
    expect((await logIn('organiser', 'organiser-secret-1')).login).toEqual({ username: 'organiser', isStaff: true });
    expect(await logIn('organiser', 'organiser-secret-2')).toEqual({
      login: 'INVALID_CREDENTIALS',
      polls: 'UNAUTHENTICATED',
    });
    expect((await logIn('mallory', 'organiser-secret-1')).login).toBe('INVALID_CREDENTIALS');
  });

  it("refuses a password holding the site's name with the validator's code; the model backend logs others in", async () => {
    for (const password of ['my-polls-secret-9', 'MY-PÖLLS-SECRET-9', 'my-Ｐｏｌｌｓ-secret']) {
      const refused = await new HttpClient(app.url).graphql(REGISTER, { u: 'eve', p: password });
      expect(refused.body.errors?.[0]?.extensions).toMatchObject({
        code: 'BAD_USER_INPUT',
        validationErrors: [
          {
            code: 'password_contains_site_name',
            message: 'The password must not contain the site\'s name ("polls").',
            field: 'password',
          },
        ],
      });
    }
    const registered = await new HttpClient(app.url).graphql(REGISTER, { u: 'eve', p: 'ballot-box-secret' });
    expect(registered.body).toEqual({ data: { register: { username: 'eve' } } });
    expect(await logIn('eve', 'ballot-box-secret')).toEqual({
      login: { username: 'eve', isStaff: false },
      polls: { totalCount: 0 },
    });
  });
});

describe('the server without the app', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await createTestApp({ env: { ...CHEAP_HASHING, INSTALLED_APPS: '' } });
  });
  afterAll(() => app.stop());

  it('serves the package alone: the app’s fields are not in the schema', async () => {
    const { body } = await new HttpClient(app.url).graphql(POLLS);
    expect(body.errors?.map((error) => error.extensions?.code)).toEqual(['GRAPHQL_VALIDATION_FAILED']);
    expect(body.errors?.[0]?.message).toBe('Cannot query field "polls" on type "Query".');
  });
});

describe('what defineApp and INSTALLED_APPS refuse', () => {
  const refusal = (define: () => unknown) => {
    try {
      define();
      return 'accepted';
    } catch (error) {
      return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
    }
  };

  it('refuses a label that is not a lower-case identifier, and models filed under another app', () => {
    expect(refusal(() => defineApp({ label: 'Polls' }))).toBe(
      'ImproperlyConfigured: the app label "Polls" is not a lower-case identifier (letters, digits, _), e.g. "polls"',
    );
    expect(
      refusal(() =>
        defineApp({ label: 'billing', models: [{ appLabel: 'auth', model: 'invoice', verboseName: 'invoice' }] }),
      ),
    ).toBe('ImproperlyConfigured: the app billing declares models of another app: auth.invoice');
  });

  it('refuses one app installed twice, and a module that is not an app', async () => {
    const config = await loadExtensions(
      loadConfig({ INSTALLED_APPS: './examples/polls/index.ts,./test/fixtures/apps/second-polls.ts' }),
    );
    expect(refusal(() => installedApps(config))).toBe(
      "ImproperlyConfigured: INSTALLED_APPS names a second app labelled polls: labels are unique (auth and contenttypes are Django's own)",
    );
    const undefinedApp = await loadExtensions(loadConfig({ INSTALLED_APPS: './test/fixtures/apps/not-defined.ts' }));
    expect(refusal(() => installedApps(undefinedApp))).toBe(
      'ImproperlyConfigured: the app label "Polls" is not a lower-case identifier (letters, digits, _), e.g. "polls"',
    );
    await expect(loadExtensions(loadConfig({ INSTALLED_APPS: './examples/polls/validator.ts' }))).rejects.toThrow(
      'INSTALLED_APPS names ./examples/polls/validator.ts, whose default export is not an app: it needs defineApp({ label, ... }) (docs/apps.md)',
    );
  });
});
