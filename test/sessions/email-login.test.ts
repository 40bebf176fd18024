/**
 * E-mail login over GraphQL (issue 20, item 6): `login(username:, password:)` carries whatever the configured
 * backends take as the login field, as Django's login form posts `username` whatever the USERNAME_FIELD. With the
 * e-mail backend, an address in `username` logs in.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createAuth } from '../../src/auth/index.js';
import { createTestApp, type TestApp } from '../support/app.js';
import { HttpClient } from '../support/http-client.js';
import { whoAmI } from '../support/sessions.js';

const LOGIN = 'mutation ($u: String!, $p: String!) { login(username: $u, password: $p) { username } }';
const CHEAP_HASHING = { ARGON2_MEMORY_KIB: '1024', ARGON2_TIME_COST: '1' };

/** What a login answers, reduced to who logged in or the error code; and who `me` is afterwards. */
async function logIn(app: TestApp, username: string, password: string) {
  const client = new HttpClient(app.url);
  const { body } = await client.graphql<{ login: { username: string } }>(LOGIN, { u: username, p: password });
  return {
    login: body.data?.login.username ?? body.errors?.[0]?.extensions?.code,
    me: await whoAmI(client),
  };
}

async function appWithBackends(backends: string, env: Record<string, string> = {}): Promise<TestApp> {
  const app = await createTestApp({ env: { ...CHEAP_HASHING, AUTHENTICATION_BACKENDS: backends, ...env } });
  const auth = createAuth(app.config);
  const em = app.database.orm.em.fork();
  await auth.users.createUser(em, { username: 'alice', email: 'Alice@Example.com', password: 'wonderland-42' });
  await auth.users.createUser(em, { username: 'twin1', email: 'twin@example.com', password: 'twin-pass-1' });
  await auth.users.createUser(em, { username: 'twin2', email: 'twin@example.com', password: 'twin-pass-1' });
  return app;
}

describe('with AUTHENTICATION_BACKENDS=email', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await appWithBackends('email');
  });
  afterAll(() => app.stop());

  it('logs in with the e-mail address in the username argument, matched case-insensitively', async () => {
    expect(await logIn(app, 'alice@example.COM', 'wonderland-42')).toEqual({ login: 'alice', me: 'alice' });
  });

  it('refuses a wrong password, the username itself, and an address several accounts share, all alike', async () => {
    const refused = { login: 'INVALID_CREDENTIALS', me: null };
    expect(await logIn(app, 'alice@example.com', 'wrong-password')).toEqual(refused);
    expect(await logIn(app, 'alice', 'wonderland-42')).toEqual(refused);
    expect(await logIn(app, 'twin@example.com', 'twin-pass-1')).toEqual(refused);
  });
});

describe('with AUTHENTICATION_BACKENDS=model,email', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await appWithBackends('model,email');
  });
  afterAll(() => app.stop());

  it('logs in with the username or with the address', async () => {
    expect(await logIn(app, 'alice', 'wonderland-42')).toEqual({ login: 'alice', me: 'alice' });
    expect(await logIn(app, 'ALICE@example.com', 'wonderland-42')).toEqual({ login: 'alice', me: 'alice' });
    expect(await logIn(app, 'twin1', 'twin-pass-1')).toEqual({ login: 'twin1', me: 'twin1' });
  });
});

describe('the lockout, with the e-mail backend', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await appWithBackends('email', { LOCKOUT_LIMIT: '3' });
  });
  afterAll(() => app.stop());

  it('counts one address however it is capitalized: the e-mail backend matches it case-insensitively', async () => {
    for (const typed of ['alice@example.com', 'ALICE@example.com', 'Alice@EXAMPLE.com'])
      expect((await logIn(app, typed, 'wrong-password')).login).toBe('INVALID_CREDENTIALS');
    // A fourth spelling is no fresh counter: locked, even with the right password.
    expect(await logIn(app, 'alice@Example.Com', 'wonderland-42')).toEqual({ login: 'TOO_MANY_ATTEMPTS', me: null });
  });
});
