/**
 * Login, me and logout over real HTTP with a browser-like cookie jar (Django's login/logout/get_user), on each
 * session store.
 */
import { afterAll, beforeAll, expect, it } from '@jest/globals';
import { createAuth } from '../../src/auth/index.js';
import { User } from '../../src/entities/user.js';
import { createTestApp, type TestApp } from '../support/app.js';
import { HttpClient } from '../support/http-client.js';
import { describeEachStore } from '../support/session-stores.js';
import { loggedInClient, sessionCookieValue, sessionIdOf, whoAmI } from '../support/sessions.js';

const LOGIN =
  'mutation ($username: String!, $password: String!) { login(username: $username, password: $password) { id username lastLogin } }';
const ME = '{ me { id username } }';

describeEachStore('login, me, logout', (sessionStore) => {
  let app: TestApp;
  /** The server's clock runs with real time, this far ahead. */
  let clockOffsetMs = 0;
  beforeAll(async () => {
    app = await createTestApp({
      sessionStore,
      clock: { now: () => new Date(Date.now() + clockOffsetMs) },
      env: { ARGON2_MEMORY_KIB: '1024', ARGON2_TIME_COST: '1' },
    });
    const auth = createAuth(app.config);
    const em = app.database.orm.em.fork();
    await auth.users.createUser(em, { username: 'alice', password: 'wonderland-42' });
    await auth.users.createUser(em, { username: 'inactive', password: 'inactive-pass-1', isActive: false });
    await auth.users.createUser(em, { username: 'nopass' });
  });
  afterAll(() => app.stop());

  const sessionCookie = async (client: HttpClient) =>
    (await client.jar.getCookies(app.url)).find((cookie) => cookie.key === 'sessionid');

  it('is anonymous before login: me is null, not an error', async () => {
    expect((await new HttpClient(app.url).graphql(ME)).body).toEqual({ data: { me: null } });
  });

  it('logs in, is the user on the next request, and is anonymous again after logout', async () => {
    const client = new HttpClient(app.url);
    const login = await client.graphql<{ login: { username: string; lastLogin: string } }>(LOGIN, {
      username: 'alice',
      password: 'wonderland-42',
    });
    expect(login.body.errors).toBeUndefined();
    expect(login.body.data?.login.username).toBe('alice');
    const cookie = await sessionCookie(client);
    expect(cookie).toMatchObject({ httpOnly: true, sameSite: 'lax', path: '/' });

    expect((await client.graphql<{ me: { username: string } | null }>(ME)).body.data?.me?.username).toBe('alice');

    const stolen = new HttpClient(app.url);
    await stolen.jar.setCookie(cookie?.toString() ?? '', app.url);
    expect((await stolen.graphql<{ me: { username: string } | null }>(ME)).body.data?.me?.username).toBe('alice');

    expect((await client.graphql('mutation { logout }')).body).toEqual({ data: { logout: true } });
    expect(await sessionCookie(client)).toBeUndefined();
    expect((await client.graphql(ME)).body).toEqual({ data: { me: null } });
    // The old cookie, replayed after logout, names a session that no longer exists.
    expect((await stolen.graphql(ME)).body).toEqual({ data: { me: null } });
  });

  it('issues a new session id at login, even for a browser that is already logged in as the same user', async () => {
    const client = new HttpClient(app.url);
    await client.graphql(LOGIN, { username: 'alice', password: 'wonderland-42' });
    const first = (await sessionCookie(client))?.value;
    await client.graphql(LOGIN, { username: 'alice', password: 'wonderland-42' });
    const second = (await sessionCookie(client))?.value;
    expect(first).toBeDefined();
    expect(second).toBeDefined();
    expect(second).not.toBe(first);
    // The id known before the second login is dead: replaying it is anonymous.
    const replay = new HttpClient(app.url);
    await replay.jar.setCookie(`sessionid=${first ?? ''}; Path=/`, app.url);
    expect((await replay.graphql(ME)).body).toEqual({ data: { me: null } });
  });

  it('logs in and out within one operation, and logs out after the server has already ended the session', async () => {
    const client = new HttpClient(app.url);
    // One login per operation (a second is refused at validation, see abuse.test.ts); a logout after it is fine.
    const both = await client.graphql(
      'mutation { a: login(username: "alice", password: "wonderland-42") { username } b: logout }',
    );
    expect(both.body).toEqual({ data: { a: { username: 'alice' }, b: true } });
    expect((await client.graphql<{ me: { username: string } | null }>(ME)).body.data?.me).toBeNull();
    await client.graphql('mutation { login(username: "alice", password: "wonderland-42") { username } }');
    expect((await client.graphql<{ me: { username: string } | null }>(ME)).body.data?.me?.username).toBe('alice');
    // The session ends behind the browser's back (deleted), then it logs out: true, and the cookie is cleared.
    await app.sessions.clear();
    const logout = await client.graphql('mutation { logout }');
    expect(logout.body).toEqual({ data: { logout: true } });
    expect(await sessionCookie(client)).toBeUndefined();
  });

  it('cannot be brought back by a request of that session still in flight when it logged out', async () => {
    const browser = await loggedInClient(app.url, 'alice', 'wonderland-42');
    const sid = (await sessionIdOf(browser, app.url)) ?? '';
    const otherTab = new HttpClient(app.url); // the same browser: the same cookie
    await otherTab.jar.setCookie(`sessionid=${(await sessionCookieValue(browser, app.url)) ?? ''}; Path=/`, app.url);
    // Past the touch interval: the next request records activity, so it writes its session when it ends.
    clockOffsetMs += 61_000;
    const held = app.sessions.store.holdNextSet(sid);
    const inFlight = whoAmI(browser);
    await held.reached; // it has loaded the session and is about to write it back
    expect((await otherTab.graphql('mutation { logout }')).body).toEqual({ data: { logout: true } });
    expect(await app.sessions.exists(sid)).toBe(false);
    held.release();
    expect(await inFlight).toBe('alice'); // it began while logged in...
    expect(await app.sessions.exists(sid)).toBe(false); // ...and its late write did not bring the session back
    expect(await whoAmI(browser)).toBeNull();
  });

  it('updates last_login at login', async () => {
    const before = Date.now();
    const client = new HttpClient(app.url);
    const login = await client.graphql<{ login: { lastLogin: string } }>(LOGIN, {
      username: 'alice',
      password: 'wonderland-42',
    });
    expect(Date.parse(login.body.data?.login.lastLogin ?? '')).toBeGreaterThanOrEqual(before - 1000);
    const stored = await app.database.orm.em.fork().findOneOrFail(User, { username: 'alice' });
    expect(stored.lastLogin?.toISOString()).toBe(login.body.data?.login.lastLogin);
  });

  it.each([
    ['an unknown user', 'mallory', 'wonderland-42'],
    ['a wrong password', 'alice', 'wonderland-43'],
    ['an inactive user', 'inactive', 'inactive-pass-1'],
    ['an unusable password', 'nopass', ''],
  ])('answers %s with the same INVALID_CREDENTIALS, and sets no cookie', async (_, username, password) => {
    const client = new HttpClient(app.url);
    const response = await client.graphql(LOGIN, { username, password });
    expect(response.status).toBe(200);
    expect(response.body).toEqual({
      data: null,
      errors: [
        {
          message: 'Please enter a correct username and password.',
          locations: [{ line: 1, column: 53 }],
          path: ['login'],
          // The request's id, as in its X-Request-Id header: what a user quotes to find the log lines.
          extensions: { code: 'INVALID_CREDENTIALS', requestId: response.headers.get('x-request-id') },
        },
      ],
    });
    expect(response.headers.get('set-cookie')).toBeNull();
  });

  it('answers logout with true for an anonymous browser', async () => {
    expect((await new HttpClient(app.url).graphql('mutation { logout }')).body).toEqual({ data: { logout: true } });
  });
});
