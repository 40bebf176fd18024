/**
 * E-mail login over GraphQL (issue 20, item 6): `login(username:, password:)` carries whatever the configured
 * backends take as the login field, as Django's login form posts `username` whatever the USERNAME_FIELD. With the
 * e-mail backend, an address in `username` logs in.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createAuth } from '../../src/auth/index.js';
import { run, selectAll } from '../../src/db/sql.js';
import { createTestApp, type TestApp } from '../support/app.js';
import { HttpClient } from '../support/http-client.js';
import { whoAmI } from '../support/sessions.js';

const LOGIN = 'mutation ($u: String!, $p: String!) { login(username: $u, password: $p) { username } }';
const CHEAP_HASHING = { ARGON2_MEMORY_KIB: '1024', ARGON2_TIME_COST: '1' };

/**
 * What a login answers, reduced to who logged in or the error code; and who `me` is afterwards. By a new browser,
 * unless `client` is given.
 */
async function logIn(app: TestApp, username: string, password: string, client = new HttpClient(app.url)) {
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

describe('the address lookup', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await appWithBackends('email');
  });
  afterAll(() => app.stop());

  it("finds an address through an index, not by reading all of auth_user (the e-mail backend's query)", async () => {
    const plan = await app.database.orm.em.transactional(async (tx) => {
      // Three users make a table scan the cheaper plan: told to avoid it, the planner shows whether an index serves.
      await run(tx, 'SET LOCAL enable_seqscan = off');
      const [row] = await selectAll<{ 'QUERY PLAN': unknown }>(
        tx,
        "EXPLAIN (FORMAT JSON) SELECT id, password, is_active FROM auth_user WHERE upper(email) = upper('alice@example.com') LIMIT 2",
      );
      return JSON.stringify(row?.['QUERY PLAN']);
    });
    expect(plan).toContain('"Index Name":"gqlauth_auth_user_email_upper"');
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

  it('counts the account its address names, however blank: its username, which logs nobody in, apart', async () => {
    await createAuth(app.config).users.createUser(app.database.orm.em.fork(), {
      username: 'dora',
      email: 'dora@example.com',
      password: 'dora-pass-1',
    });
    const answers = [];
    for (const typed of [' dora@example.com', 'dora', 'dora', 'dora', 'dora@example.com\t', 'DORA@example.com '])
      answers.push((await logIn(app, typed, 'wrong-password')).login);
    answers.push((await logIn(app, 'dora@example.com', 'dora-pass-1')).login);
    expect(answers).toEqual([...Array<string>(6).fill('INVALID_CREDENTIALS'), 'TOO_MANY_ATTEMPTS']);
  });
});

describe('the lockout, with the model and e-mail backends', () => {
  const refused = { login: 'INVALID_CREDENTIALS', me: null };
  const locked = { login: 'TOO_MANY_ATTEMPTS', me: null };
  let app: TestApp;
  beforeAll(async () => {
    app = await appWithBackends('model,email', { LOCKOUT_LIMIT: '3' });
    const auth = createAuth(app.config);
    const em = app.database.orm.em.fork();
    for (const [username, email] of [
      ['bob', 'bob@example.com'],
      ['carol', 'carol@example.com'],
      ['grace', 'grace@example.com'],
      // A username that is another account's address: a login with it checks both accounts' passwords.
      ['erin@example.com', 'erin.own@example.com'],
      ['frank', 'ERIN@example.com'],
      ['henry@example.com', 'henry.own@example.com'],
      ['ivan', 'HENRY@example.com'],
    ] as const)
      await auth.users.createUser(em, { username, email, password: `${username}-pass-1` });
  });
  afterAll(() => app.stop());

  /** Each login in turn, with what it answered. */
  async function logInEach(logins: readonly (readonly [string, string])[]) {
    const answers = [];
    for (const [username, password] of logins) answers.push(await logIn(app, username, password));
    return answers;
  }

  it.each([
    ['the username twice, then the address', 'alice', ['alice', 'alice', 'ALICE@example.com'], 'wonderland-42'],
    ['the address twice, then the username', 'bob', ['bob@example.com', 'Bob@Example.com', 'bob'], 'bob-pass-1'],
  ])('counts both names of one account together: %s lock both', async (_, username, typed, password) => {
    expect(
      await logInEach([
        ...typed.map((name) => [name, 'wrong-password'] as const),
        [username, password],
        [`${username}@example.com`, password],
      ]),
    ).toEqual([refused, refused, refused, locked, locked]);
  });

  it('counts an address as the e-mail backend reads it: the blanks it trims make no fresh count', async () => {
    expect(
      await logInEach([
        [' carol@example.com', 'wrong-password'],
        ['carol@example.com ', 'wrong-password'],
        ['\tcarol@example.com', 'wrong-password'],
        ['carol', 'carol-pass-1'],
      ]),
    ).toEqual([refused, refused, refused, locked]);
  });

  it('counts an address two accounts share as a name of its own: it logs nobody in, and locks neither', async () => {
    expect(
      await logInEach([
        ['twin1', 'wrong-password'],
        ['twin1', 'wrong-password'],
        ['twin@example.com', 'wrong-password'],
        ['twin@example.com', 'wrong-password'],
        ['twin@example.com', 'wrong-password'],
        ['twin@example.com', 'twin-pass-1'],
        ['twin1', 'twin-pass-1'],
        ['twin2', 'twin-pass-1'],
      ]),
    ).toEqual([
      refused,
      refused,
      refused,
      refused,
      refused,
      locked,
      { login: 'twin1', me: 'twin1' },
      { login: 'twin2', me: 'twin2' },
    ]);
  });

  it('locks a name that names no account as it locks an account: the answer does not tell which it is', async () => {
    expect(
      await logInEach([
        ['nobody@example.com', 'wrong-password'],
        ['nobody@example.com', 'wrong-password'],
        ['nobody@example.com', 'wrong-password'],
        ['nobody@example.com', 'any-password'],
      ]),
    ).toEqual([refused, refused, refused, locked]);
  });

  it('counts a name that reaches two accounts on both: each of their passwords is checked', async () => {
    expect(
      await logInEach([
        ['frank', 'wrong-password'],
        ['frank', 'wrong-password'],
        ['erin@example.com', 'wrong-password'],
        ['frank', 'frank-pass-1'],
        // erin's own count has one failure: by her address she gets in.
        ['erin.own@example.com', 'erin@example.com-pass-1'],
      ]),
    ).toEqual([refused, refused, refused, locked, { login: 'erin@example.com', me: 'erin@example.com' }]);
  });

  it("does not let a success by a name two accounts reach clear the other's count", async () => {
    expect(
      await logInEach([
        ['ivan', 'wrong-password'],
        ['ivan', 'wrong-password'],
        // henry logs in by his username, which is ivan's address: ivan's failures stay counted.
        ['henry@example.com', 'henry@example.com-pass-1'],
        ['ivan', 'wrong-password'],
        ['ivan', 'ivan-pass-1'],
      ]),
    ).toEqual([refused, refused, { login: 'henry@example.com', me: 'henry@example.com' }, refused, locked]);
  });

  it('trusts the owner’s browser by either name: the device cookie is the account’s, not the name’s', async () => {
    const owner = new HttpClient(app.url);
    expect(await logIn(app, 'GRACE@example.com', 'grace-pass-1', owner)).toEqual({ login: 'grace', me: 'grace' });
    expect(
      await logInEach([
        ['grace', 'wrong-password'],
        ['grace', 'wrong-password'],
        ['grace', 'wrong-password'],
        ['grace', 'grace-pass-1'],
      ]),
    ).toEqual([refused, refused, refused, locked]);
    expect(await logIn(app, 'grace', 'grace-pass-1', owner)).toEqual({ login: 'grace', me: 'grace' });
  });
});
