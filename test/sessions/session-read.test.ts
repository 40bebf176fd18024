/**
 * How a request's session is read (src/http/session.ts): the session its cookie names is read once, by the server
 * itself, and express-session runs only when the request changes the session (a touch, a login, a logout). These
 * tests count the store's reads and writes, and end a session between the two reads of a touch. On each store.
 */
import { afterAll, beforeAll, expect, it } from '@jest/globals';
import { createAuth } from '../../src/auth/index.js';
import { createTestApp, type TestApp } from '../support/app.js';
import { TestClock } from '../support/clock.js';
import { describeEachStore } from '../support/session-stores.js';
import { loggedInClient, sessionCookieValue, sessionIdOf, whoAmI } from '../support/sessions.js';

describeEachStore('reading the session of a request', (sessionStore) => {
  let app: TestApp;
  const clock = new TestClock();

  beforeAll(async () => {
    app = await createTestApp({
      sessionStore,
      clock,
      env: { ARGON2_MEMORY_KIB: '1024', ARGON2_TIME_COST: '1', SESSION_TOUCH_INTERVAL: '60' },
    });
    const em = app.database.orm.em.fork();
    const auth = createAuth(app.config);
    for (const username of ['reader', 'toucher', 'leaver', 'relogger', 'blanker', 'hijacked']) {
      await auth.users.createUser(em, { username, password: `${username}-password-1` });
    }
    const hijacker = { username: 'hijacker', password: 'hijacker-password-1', isStaff: true, isSuperuser: true };
    await auth.users.createUser(em, hijacker);
  });
  afterAll(() => app.stop());

  const loggedIn = (username: string) => loggedInClient(app.url, username, `${username}-password-1`);
  const ME = '{ me { username } }';

  it('reads an unchanged session once per request, writes nothing and sends no cookie', async () => {
    const client = await loggedIn('reader');
    const sid = (await sessionIdOf(client, app.url)) ?? '';
    const reads = app.sessions.store.readsOf(sid);
    const writes = app.sessions.store.writes;
    for (let request = 0; request < 5; request++) {
      const { body, headers } = await client.graphql(ME);
      expect(body.data).toEqual({ me: { username: 'reader' } });
      expect(headers.getSetCookie()).toEqual([]);
    }
    expect(app.sessions.store.readsOf(sid) - reads).toBe(5);
    expect(app.sessions.store.writes - writes).toBe(0);
  });

  it('records activity once the touch interval has passed: read again, written once, same session', async () => {
    const client = await loggedIn('toucher');
    const sid = (await sessionIdOf(client, app.url)) ?? '';
    clock.advance(61);
    const reads = app.sessions.store.readsOf(sid);
    const writes = app.sessions.store.writes;
    expect(await whoAmI(client)).toBe('toucher');
    // Once by the server, once by express-session, which writes the session back.
    expect(app.sessions.store.readsOf(sid) - reads).toBe(2);
    expect(app.sessions.store.writes - writes).toBe(1);
    expect(await sessionIdOf(client, app.url)).toBe(sid);
    // Then within the interval again: nothing more.
    expect(await whoAmI(client)).toBe('toucher');
    expect(app.sessions.store.writes - writes).toBe(1);
  });

  it('starts no session in place of one that ended between the two reads of a touch', async () => {
    const client = await loggedIn('leaver');
    const sid = (await sessionIdOf(client, app.url)) ?? '';
    clock.advance(61);
    // A logout on another process, just after this request read the session and before express-session reads it.
    app.sessions.store.beforeRead(sid, 2, () => app.sessions.store.destroy(sid));
    const sessionsBefore = await app.sessions.count();
    const { body, headers } = await client.graphql(ME);
    // The request was authorized when it began, as it would have been a moment earlier.
    expect(body.data).toEqual({ me: { username: 'leaver' } });
    // No cookie for a blank session, nothing stored in its place.
    expect(headers.getSetCookie()).toEqual([]);
    expect(await app.sessions.exists(sid)).toBe(false);
    expect(await app.sessions.count()).toBe(sessionsBefore - 1);
    expect(await whoAmI(client)).toBeNull();
  });

  it('ends the session the cookie named when the same browser logs in again (a new id)', async () => {
    const client = await loggedIn('relogger');
    const before = (await sessionIdOf(client, app.url)) ?? '';
    const { body } = await client.graphql(
      'mutation { login(username: "relogger", password: "relogger-password-1") { id } }',
    );
    expect(body.errors).toBeUndefined();
    const after = await sessionIdOf(client, app.url);
    expect(after).toBeDefined();
    expect(after).not.toBe(before);
    expect(await app.sessions.exists(before)).toBe(false);
    expect(await whoAmI(client)).toBe('relogger');
  });

  it('reads the cookie as express-session does: blanks around it are spaces and tabs, nothing else', async () => {
    const client = await loggedIn('blanker');
    const value = (await sessionCookieValue(client, app.url)) ?? '';
    const sid = (await sessionIdOf(client, app.url)) ?? '';
    const send = async (cookie: string, query: string) => {
      const response = await fetch(`${app.url}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', cookie },
        body: JSON.stringify({ query }),
      });
      return { body: (await response.json()) as { data?: unknown }, cookies: response.headers.getSetCookie() };
    };
    // Space and tab are blanks to both readers.
    expect((await send(`sessionid= ${value}\t`, ME)).body.data).toEqual({ me: { username: 'blanker' } });
    // A no-break space (a header byte 0xA0) is not: express-session reads no session from these, and would not end
    // the session on a logout, so they must not authenticate either.
    for (const cookie of [`sessionid=\u00a0${value}`, `sessionid\u00a0=${value}`, `sessionid=${value}\u00a0`]) {
      expect({ cookie, ...(await send(cookie, ME)).body }).toEqual({ cookie, data: { me: null } });
      expect((await send(cookie, 'mutation { logout }')).body.data).toEqual({ logout: true });
      expect(await app.sessions.exists(sid)).toBe(true);
    }
  });

  it('keeps the refusals of an impersonation whose session ends between the two reads of a touch', async () => {
    const client = await loggedIn('hijacker');
    const impersonated = await client.graphql<{ impersonate: { id: string } }>(
      'mutation { impersonate(userId: "' + String(await idOf('hijacked')) + '") { id } }',
    );
    expect(impersonated.body.errors).toBeUndefined();
    const sid = (await sessionIdOf(client, app.url)) ?? '';
    clock.advance(61);
    // The support agent's own logout in another tab, between this request's read and express-session's.
    app.sessions.store.beforeRead(sid, 2, () => app.sessions.store.destroy(sid));
    const { body } = await client.graphql('mutation { createAccessToken(input: { name: "keep" }) { token } }');
    expect(body.data).toBeNull();
    // No key to the impersonated account left with whoever impersonated it.
    const tokens = await app.database.orm.em
      .fork()
      .getConnection()
      .execute('SELECT id FROM gqlauth_access_token WHERE user_id = ?', [await idOf('hijacked')]);
    expect(tokens).toEqual([]);
  });

  it('answers UNAUTHENTICATED to an impersonation whose session ends between the two reads of a touch', async () => {
    const client = await loggedIn('hijacker');
    const sid = (await sessionIdOf(client, app.url)) ?? '';
    clock.advance(61);
    app.sessions.store.beforeRead(sid, 2, () => app.sessions.store.destroy(sid));
    const { body } = await client.graphql(
      'mutation { impersonate(userId: "' + String(await idOf('hijacked')) + '") { id } }',
    );
    expect(body.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    expect(await app.sessions.count({ userId: await idOf('hijacked') })).toBe(0);
  });

  async function idOf(username: string): Promise<number> {
    const rows = await app.database.orm.em
      .fork()
      .getConnection()
      .execute<{ id: number }[]>('SELECT id FROM auth_user WHERE username = ?', [username]);
    return rows[0]?.id ?? 0;
  }
});
