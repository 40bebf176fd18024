/**
 * Password guessing beyond one address (OWASP's device cookies, ASVS 2.2.1), over HTTP on each store of counters:
 * only failures count, so that a user's own parallel logins all get in; one account takes at most
 * LOCKOUT_ACCOUNT_LIMIT checks from browsers it does not know, whatever the number of addresses, while the owner's
 * browser (a device cookie from an earlier login) is counted apart and still gets in; and one address gets at most
 * CREDENTIAL_RATE_LIMIT credential checks per window, before any password is hashed.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { createAuth, encodeUid } from '../../src/auth/index.js';
import { CHEAP_HASHING } from '../support/auth.js';
import { sqlLogger } from '../support/sql-log.js';
import { createTestApp, type TestApp } from '../support/app.js';
import { HttpClient, type GraphQLResponse } from '../support/http-client.js';
import { describeEachStore } from '../support/session-stores.js';
import { loggedInClient } from '../support/sessions.js';

const LOGIN = 'mutation ($u: String!, $p: String!) { login(username: $u, password: $p) { username } }';
/** The query every password check starts with (ModelBackend): counting it counts passwords checked. */
const LOGIN_LOOKUP = 'SELECT id, password, is_active FROM auth_user WHERE username = ?';
const DEVICE_COOKIE = 'gqlauth_device';

const codeOf = (response: GraphQLResponse) => response.body.errors?.[0]?.extensions?.code;

/** A login by `client` from `address`, as the TLS-terminating proxy (the test) says in X-Forwarded-For. */
const loginFrom = (client: HttpClient, username: string, password: string, address: string) =>
  client.graphql<{ login: { username: string } }>(LOGIN, { u: username, p: password }, { 'x-forwarded-for': address });

/** Runs `tasks` with at most `width` at a time; the answers in order. */
async function inBatches<T>(tasks: (() => Promise<T>)[], width: number): Promise<T[]> {
  const answers: T[] = [];
  for (let start = 0; start < tasks.length; start += width)
    answers.push(...(await Promise.all(tasks.slice(start, start + width).map((task) => task()))));
  return answers;
}

describeEachStore('guessing at passwords', (sessionStore) => {
  const statements: string[] = [];
  let app: TestApp;
  beforeAll(async () => {
    // The test is the TLS-terminating proxy: it says who the client is in X-Forwarded-For. Every limit at its default
    // but the address's rate of credential checks (the describe below tests it).
    app = await createTestApp({
      sessionStore,
      logger: sqlLogger(statements),
      env: { ...CHEAP_HASHING, TRUST_PROXY: 'loopback', CREDENTIAL_CONCURRENCY: '1' },
    });
    const em = app.database.orm.em.fork();
    const auth = createAuth(app.config);
    for (const username of ['alice', 'bob', 'carol', 'dave', 'erin'])
      await auth.users.createUser(em, { username, email: `${username}@example.com`, password: `${username}-pass-1` });
  });
  afterAll(() => app.stop());
  beforeEach(() => {
    statements.length = 0;
  });

  const attempt = loginFrom;
  const lookups = () => statements.filter((statement) => statement === LOGIN_LOOKUP).length;

  it('lets 20 parallel logins with the right password all in: only failures count', async () => {
    const answers = await Promise.all(
      Array.from({ length: 20 }, () => attempt(new HttpClient(app.url), 'alice', 'alice-pass-1', '203.0.113.20')),
    );
    expect(answers.map((answer) => codeOf(answer) ?? answer.body.data?.login.username)).toEqual(
      Array<string>(20).fill('alice'),
    );
  });

  it('checks exactly LOCKOUT_LIMIT of 60 parallel wrong guesses, and refuses the others', async () => {
    const answers = await Promise.all(
      Array.from({ length: 60 }, (_, n) => attempt(new HttpClient(app.url), 'bob', `wrong-${n}`, '203.0.113.21')),
    );
    expect(lookups()).toBe(5);
    expect(answers.filter((answer) => codeOf(answer) === 'INVALID_CREDENTIALS')).toHaveLength(5);
    expect(answers.filter((answer) => codeOf(answer) === 'TOO_MANY_ATTEMPTS')).toHaveLength(55);
  });

  it('holds one account to 100 checks from unknown browsers across 50 addresses; the owner’s browser gets in', async () => {
    const owner = await loggedInClient(app.url, 'carol', 'carol-pass-1');
    statements.length = 0;
    // 250 guesses, 5 from each of 50 addresses: each address stays within its own LOCKOUT_LIMIT.
    const guesses = Array.from(
      { length: 250 },
      (_, n) => () => attempt(new HttpClient(app.url), 'carol', `guess-${n}`, `198.51.100.${(n % 50) + 1}`),
    );
    const answers = await inBatches(guesses, 10);
    expect(lookups()).toBe(100);
    expect(answers.filter((answer) => codeOf(answer) === 'INVALID_CREDENTIALS')).toHaveLength(100);
    const refused = answers.filter((answer) => codeOf(answer) === 'TOO_MANY_ATTEMPTS');
    expect(refused).toHaveLength(150);
    expect(refused[0]?.body.errors?.[0]?.extensions?.retryAfterSeconds).toBeGreaterThan(3000);
    // The right password from a browser the account does not know is refused too, without a check ...
    expect(codeOf(await attempt(new HttpClient(app.url), 'carol', 'carol-pass-1', '192.0.2.99'))).toBe(
      'TOO_MANY_ATTEMPTS',
    );
    expect(lookups()).toBe(100);
    // ... and the owner's browser, which logged in before, still gets in (from any address).
    expect((await attempt(owner, 'carol', 'carol-pass-1', '192.0.2.98')).body.data?.login.username).toBe('carol');
  });

  it('issues the device cookie at a successful login only: HttpOnly, SameSite, for a long time', async () => {
    const client = new HttpClient(app.url);
    const failed = await attempt(client, 'dave', 'wrong', '203.0.113.22');
    expect(failed.headers.getSetCookie().some((cookie) => cookie.startsWith(`${DEVICE_COOKIE}=`))).toBe(false);
    const ok = await attempt(client, 'dave', 'dave-pass-1', '203.0.113.22');
    const device = ok.headers.getSetCookie().find((cookie) => cookie.startsWith(`${DEVICE_COOKIE}=`));
    expect(device).toMatch(/; HttpOnly/i);
    expect(device).toMatch(/; SameSite=Lax/i);
    expect(device).toMatch(/; Max-Age=31536000/i);
    // The cookie names no user: nothing in it reads as the username.
    expect(device).not.toMatch(/dave/);
  });

  it('counts the owner’s browser apart from the address its attacker shares', async () => {
    const owner = await loggedInClient(app.url, 'erin', 'erin-pass-1');
    // Someone behind the same address locks erin at that address ...
    for (let n = 0; n < 5; n += 1) await attempt(new HttpClient(app.url), 'erin', `wrong-${n}`, '203.0.113.23');
    expect(codeOf(await attempt(new HttpClient(app.url), 'erin', 'erin-pass-1', '203.0.113.23'))).toBe(
      'TOO_MANY_ATTEMPTS',
    );
    // ... erin, with her device cookie, gets in from there.
    expect((await attempt(owner, 'erin', 'erin-pass-1', '203.0.113.23')).body.data?.login.username).toBe('erin');
  });

  it('trusts a device cookie only for its own account, only as signed, and only until it has 5 failures', async () => {
    const auth = createAuth(app.config);
    await auth.users.createUser(app.database.orm.em.fork(), { username: 'frank', password: 'frank-pass-1' });
    await auth.users.createUser(app.database.orm.em.fork(), { username: 'gina', password: 'gina-pass-1' });
    const frank = await loggedInClient(app.url, 'frank', 'frank-pass-1');
    const cookie = (await frank.jar.getCookies(app.url)).find((each) => each.key === DEVICE_COOKIE);
    expect(cookie).toBeDefined();
    const withDevice = (value: string, username: string, password: string, address: string) =>
      new HttpClient(app.url).graphql(
        LOGIN,
        { u: username, p: password },
        { 'x-forwarded-for': address, cookie: `${DEVICE_COOKIE}=${value}` },
      );
    // gina is locked at this address; frank's cookie does not vouch for gina's browser.
    for (let n = 0; n < 5; n += 1) await withDevice(cookie?.value ?? '', 'gina', `wrong-${n}`, '203.0.113.24');
    expect(codeOf(await withDevice(cookie?.value ?? '', 'gina', 'gina-pass-1', '203.0.113.24'))).toBe(
      'TOO_MANY_ATTEMPTS',
    );
    // frank is locked at another address; a tampered copy of his cookie vouches for nobody ...
    for (let n = 0; n < 5; n += 1) await attempt(new HttpClient(app.url), 'frank', `wrong-${n}`, '203.0.113.25');
    const tampered = `${(cookie?.value ?? '').slice(0, -2)}${(cookie?.value ?? '').endsWith('AA') ? 'BB' : 'AA'}`;
    expect(codeOf(await withDevice(tampered, 'frank', 'frank-pass-1', '203.0.113.25'))).toBe('TOO_MANY_ATTEMPTS');
    // ... the real one does, until five wrong passwords are tried with it: then it is a stranger's.
    expect(codeOf(await withDevice(cookie?.value ?? '', 'frank', 'frank-pass-1', '203.0.113.25'))).toBeUndefined();
    for (let n = 0; n < 5; n += 1)
      expect(codeOf(await withDevice(cookie?.value ?? '', 'frank', `wrong-${n}`, '203.0.113.25'))).toBe(
        'INVALID_CREDENTIALS',
      );
    expect(codeOf(await withDevice(cookie?.value ?? '', 'frank', 'frank-pass-1', '203.0.113.25'))).toBe(
      'TOO_MANY_ATTEMPTS',
    );
  });
});

describeEachStore('the credential checks one address may ask for (CREDENTIAL_RATE_LIMIT)', (sessionStore) => {
  const statements: string[] = [];
  let app: TestApp;
  beforeAll(async () => {
    app = await createTestApp({
      sessionStore,
      logger: sqlLogger(statements),
      env: {
        ...CHEAP_HASHING,
        TRUST_PROXY: 'loopback',
        REGISTRATION_OPEN: 'true',
        CREDENTIAL_RATE_LIMIT: '10',
        CREDENTIAL_RATE_WINDOW: '60',
      },
    });
    await createAuth(app.config).users.createUser(app.database.orm.em.fork(), {
      username: 'hank',
      email: 'hank@example.com',
      password: 'hank-pass-1',
    });
  });
  afterAll(() => app.stop());

  const login = (username: string, password: string, address: string, client = new HttpClient(app.url)) =>
    loginFrom(client, username, password, address);
  const lookups = () => statements.filter((statement) => statement === LOGIN_LOOKUP).length;

  it('checks 10 logins against random usernames from one address, then refuses before any lookup', async () => {
    statements.length = 0;
    for (let n = 0; n < 10; n += 1)
      expect(codeOf(await login(`nobody-${n}`, 'whatever', '203.0.113.40'))).toBe('INVALID_CREDENTIALS');
    const refused = await login('nobody-10', 'whatever', '203.0.113.40');
    expect(refused.body.errors?.[0]?.extensions).toMatchObject({ code: 'TOO_MANY_ATTEMPTS' });
    const wait = Number(refused.body.errors?.[0]?.extensions?.retryAfterSeconds);
    expect(wait).toBeGreaterThan(0);
    expect(wait).toBeLessThanOrEqual(60);
    // The right password too: the address has spent its checks.
    expect(codeOf(await login('hank', 'hank-pass-1', '203.0.113.40'))).toBe('TOO_MANY_ATTEMPTS');
    expect(lookups()).toBe(10);
    // Another address is not held back.
    expect(codeOf(await login('hank', 'hank-pass-1', '203.0.113.41'))).toBeUndefined();
  });

  it('counts registrations, password changes and reset links from that address too', async () => {
    const address = '203.0.113.42';
    const hank = new HttpClient(app.url);
    expect(codeOf(await login('hank', 'hank-pass-1', address, hank))).toBeUndefined();
    const register = (n: number) =>
      new HttpClient(app.url).graphql(
        'mutation ($u: String!, $e: EmailAddress!) { register(input: { username: $u, email: $e, password: "a-long-new-pass-9" }) { id } }',
        { u: `new-user-${n}`, e: `new-user-${n}@example.com` },
        { 'x-forwarded-for': address },
      );
    const change = () =>
      hank.graphql(
        'mutation { changePassword(oldPassword: "wrong-old", newPassword: "hanks-new-secret-9") }',
        {},
        { 'x-forwarded-for': address },
      );
    const reset = (n: number) =>
      new HttpClient(app.url).graphql(
        'mutation ($u: ID!, $t: String!) { resetPassword(uid: $u, token: $t, newPassword: "hanks-new-secret-9") }',
        { u: encodeUid(1000 + n), t: 'bad-token' },
        { 'x-forwarded-for': address },
      );
    // 1 login, 3 registrations, 3 changes, 3 resets: 10.
    for (let n = 0; n < 3; n += 1) expect(codeOf(await register(n))).toBeUndefined();
    for (let n = 0; n < 3; n += 1) expect(codeOf(await change())).toBe('BAD_USER_INPUT');
    for (let n = 0; n < 3; n += 1) expect(codeOf(await reset(n))).toBe('INVALID_TOKEN');
    expect(codeOf(await register(3))).toBe('TOO_MANY_ATTEMPTS');
    expect(codeOf(await change())).toBe('TOO_MANY_ATTEMPTS');
    expect(codeOf(await reset(3))).toBe('TOO_MANY_ATTEMPTS');
    expect(codeOf(await login('hank', 'hank-pass-1', address))).toBe('TOO_MANY_ATTEMPTS');
  });
});

describeEachStore('an account’s count, small', (sessionStore) => {
  let app: TestApp;
  beforeAll(async () => {
    // LOCKOUT_ACCOUNT_LIMIT=4 so that a few attempts reach it.
    app = await createTestApp({
      sessionStore,
      env: { ...CHEAP_HASHING, TRUST_PROXY: 'loopback', LOCKOUT_ACCOUNT_LIMIT: '4' },
    });
    const auth = createAuth(app.config);
    for (const username of ['kim', 'lee', 'max'])
      await auth.users.createUser(app.database.orm.em.fork(), {
        username,
        email: `${username}@example.com`,
        password: `${username}-pass-1`,
      });
  });
  afterAll(() => app.stop());

  const login = loginFrom;

  it('counts every device cookie’s failures on one count per account: many cookies give no more guesses', async () => {
    const [first, second] = [new HttpClient(app.url), new HttpClient(app.url)];
    expect(codeOf(await login(first, 'kim', 'kim-pass-1', '198.51.100.1'))).toBeUndefined();
    expect(codeOf(await login(second, 'kim', 'kim-pass-1', '198.51.100.1'))).toBeUndefined();
    // Strangers spend the account's count (4, from 4 addresses) ...
    for (let n = 0; n < 4; n += 1) await login(new HttpClient(app.url), 'kim', `wrong-${n}`, `203.0.113.${60 + n}`);
    expect(codeOf(await login(new HttpClient(app.url), 'kim', 'kim-pass-1', '203.0.113.70'))).toBe('TOO_MANY_ATTEMPTS');
    // ... and two cookies, with 2 failures each (under each cookie's own 5), spend the devices' count of 4.
    for (const client of [first, second])
      for (let n = 0; n < 2; n += 1)
        expect(codeOf(await login(client, 'kim', `wrong-${n}`, '198.51.100.1'))).toBe('INVALID_CREDENTIALS');
    expect(codeOf(await login(first, 'kim', 'kim-pass-1', '198.51.100.1'))).toBe('TOO_MANY_ATTEMPTS');
  });

  it('counts wrong old passwords of changePassword on the account too, whatever the address', async () => {
    const session = await loggedInClient(app.url, 'lee', 'lee-pass-1');
    const change = (address: string) =>
      session.graphql(
        'mutation { changePassword(oldPassword: "wrong-old", newPassword: "lees-new-secret-9") }',
        {},
        { 'x-forwarded-for': address },
      );
    for (let n = 0; n < 4; n += 1) expect(codeOf(await change(`203.0.113.${80 + n}`))).toBe('BAD_USER_INPUT');
    expect(codeOf(await change('203.0.113.90'))).toBe('TOO_MANY_ATTEMPTS');
  });

  it('gives the browser that reset the password by e-mail a device cookie: the owner gets in during an attack', async () => {
    for (let n = 0; n < 4; n += 1) await login(new HttpClient(app.url), 'max', `wrong-${n}`, `203.0.113.${100 + n}`);
    const auth = createAuth(app.config);
    const [max] = await auth.passwordReset.usersFor(app.database.orm.em.fork(), 'max@example.com');
    const browser = new HttpClient(app.url);
    const reset = await browser.graphql(
      'mutation ($u: ID!, $t: String!) { resetPassword(uid: $u, token: $t, newPassword: "maxs-new-secret-9") }',
      { u: encodeUid(max?.id ?? 0), t: max ? auth.passwordReset.token(max) : '' },
      { 'x-forwarded-for': '192.0.2.7' },
    );
    expect(reset.body.data).toEqual({ resetPassword: true });
    expect(codeOf(await login(new HttpClient(app.url), 'max', 'maxs-new-secret-9', '192.0.2.7'))).toBe(
      'TOO_MANY_ATTEMPTS',
    );
    expect(codeOf(await login(browser, 'max', 'maxs-new-secret-9', '192.0.2.7'))).toBeUndefined();
  });
});

describe('the device cookie’s settings', () => {
  it('is named and kept as LOCKOUT_DEVICE_COOKIE_NAME and LOCKOUT_DEVICE_COOKIE_AGE say', async () => {
    const app = await createTestApp({
      env: { ...CHEAP_HASHING, LOCKOUT_DEVICE_COOKIE_NAME: 'known_browser', LOCKOUT_DEVICE_COOKIE_AGE: '86400' },
    });
    try {
      await createAuth(app.config).users.createUser(app.database.orm.em.fork(), {
        username: 'ivy',
        password: 'ivy-pass-1',
      });
      const ok = await new HttpClient(app.url).graphql(LOGIN, { u: 'ivy', p: 'ivy-pass-1' });
      const device = ok.headers.getSetCookie().find((cookie) => cookie.startsWith('known_browser='));
      expect(device).toMatch(/; Max-Age=86400/i);
    } finally {
      await app.stop();
    }
  });
});
