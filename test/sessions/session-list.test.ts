/**
 * "Where am I logged in", over real HTTP with a cookie jar per browser, on each session store: mySessions lists the
 * user's sessions (never their ids), endSession ends one by its public id, another user's id is NOT_FOUND like an
 * unknown one; staff with Django's session permissions list and end a user's sessions.
 */
import { afterAll, beforeAll, expect, it } from '@jest/globals';
import { createAuth } from '../../src/auth/index.js';
import { Permission } from '../../src/entities/permission.js';
import { User } from '../../src/entities/user.js';
import { createTestApp, type TestApp } from '../support/app.js';
import { CHEAP_HASHING } from '../support/auth.js';
import { TestClock } from '../support/clock.js';
import { HttpClient } from '../support/http-client.js';
import { describeEachStore } from '../support/session-stores.js';
import { sessionIdOf, whoAmI } from '../support/sessions.js';

const LOGIN = 'mutation ($u: String!, $p: String!) { login(username: $u, password: $p) { id } }';
const SESSIONS = '{ mySessions { id createdAt lastActiveAt userAgent address current impersonated } }';
const END = 'mutation ($id: ID!) { endSession(id: $id) }';
const USER_SESSIONS = 'query ($u: ID!) { userSessions(userId: $u) { id current userAgent } }';
const END_USER_SESSION = 'mutation ($u: ID!, $id: ID!) { endUserSession(userId: $u, id: $id) }';
const FIREFOX = 'Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0';
const CHROME =
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36';
const PASSWORD = 'list-password-1';

interface Listed {
  id: string;
  createdAt: string;
  lastActiveAt: string;
  userAgent: string;
  address: string;
  current: boolean;
  impersonated: boolean;
}

describeEachStore('the session list', (sessionStore) => {
  let app: TestApp;
  const clock = new TestClock();
  const ids: Record<string, string> = {};

  beforeAll(async () => {
    app = await createTestApp({
      sessionStore,
      clock,
      env: {
        ...CHEAP_HASHING,
        SESSION_TOUCH_INTERVAL: '60',
        SESSION_IDLE_TIMEOUT: '3600',
        EVENT_LISTENERS: './test/fixtures/extensions/recording-listener.ts',
      },
    });
    const auth = createAuth(app.config);
    const em = app.database.orm.em.fork();
    const users = ['alice', 'bob', 'carol', 'dave', 'erin', 'frank', 'grace', 'admin', 'nosy', 'root'];
    for (const username of users) {
      const user = await auth.users.createUser(em, {
        username,
        password: PASSWORD,
        isStaff: ['admin', 'nosy'].includes(username),
        isSuperuser: username === 'root',
      });
      ids[username] = String(user.id);
    }
    const admin = await em.findOneOrFail(User, { username: 'admin' }, { populate: ['userPermissions'] });
    for (const codename of ['view_session', 'delete_session']) {
      admin.userPermissions.add(
        await em.findOneOrFail(Permission, { codename, contentType: { appLabel: 'sessions', model: 'session' } }),
      );
    }
    // grace holds what admin does not: changing users.
    const grace = await em.findOneOrFail(User, { username: 'grace' }, { populate: ['userPermissions'] });
    grace.userPermissions.add(
      await em.findOneOrFail(Permission, { codename: 'change_user', contentType: { appLabel: 'auth', model: 'user' } }),
    );
    await em.flush();
  });
  afterAll(() => app.stop());

  /** The events recorded since the last call (test/fixtures/extensions/recording-listener.ts). */
  const events = () => {
    const list = ((globalThis as Record<string, unknown>).__recordedAuthEvents ?? []) as unknown[];
    return list.splice(0);
  };

  /** A new browser, logged in as `username`, sending `userAgent`. */
  async function browser(username: string, userAgent = FIREFOX): Promise<HttpClient> {
    const client = new HttpClient(app.url);
    const { body } = await client.graphql(LOGIN, { u: username, p: PASSWORD }, { 'user-agent': userAgent });
    if (body.errors) throw new Error(JSON.stringify(body.errors));
    return client;
  }
  const list = async (client: HttpClient) => {
    const { body } = await client.graphql<{ mySessions: Listed[] }>(SESSIONS);
    return body.data?.mySessions ?? [];
  };
  const codeOf = (body: { errors?: { extensions?: Record<string, unknown> }[] }) => body.errors?.[0]?.extensions?.code;

  it("lists the user's sessions in each browser, the current one marked, never a session id", async () => {
    const laptop = await browser('alice', FIREFOX);
    // Less than SESSION_TOUCH_INTERVAL: the laptop's activity stays its login time.
    clock.advance(30);
    const desktop = await browser('alice', CHROME);
    const [fromLaptop, fromDesktop] = [await list(laptop), await list(desktop)];
    expect(fromLaptop).toHaveLength(2);
    // Most recently active first.
    expect(fromLaptop).toEqual([
      {
        id: expect.stringMatching(/^[\w-]{22}$/),
        createdAt: clock.now().toISOString(),
        lastActiveAt: clock.now().toISOString(),
        userAgent: 'Chrome on Windows',
        address: expect.stringMatching(/127\.0\.0\.1|::1/),
        current: false,
        impersonated: false,
      },
      {
        id: expect.stringMatching(/^[\w-]{22}$/),
        createdAt: new Date(clock.now().getTime() - 30_000).toISOString(),
        lastActiveAt: new Date(clock.now().getTime() - 30_000).toISOString(),
        userAgent: 'Firefox on Linux',
        address: expect.stringMatching(/127\.0\.0\.1|::1/),
        current: true,
        impersonated: false,
      },
    ]);
    expect(fromDesktop.map(({ id, current }) => [id, current])).toEqual([
      [fromLaptop[0]?.id, true],
      [fromLaptop[1]?.id, false],
    ]);
    // The current session shows its own activity as of this request, though not yet written.
    clock.advance(60);
    expect((await list(laptop)).map(({ current, lastActiveAt }) => [current, lastActiveAt])).toEqual([
      [true, clock.now().toISOString()],
      [false, new Date(clock.now().getTime() - 60_000).toISOString()],
    ]);
    // The public id is no part of the session id, nor the other way round.
    const answer = JSON.stringify(fromLaptop);
    for (const client of [laptop, desktop]) {
      const sid = (await sessionIdOf(client, app.url)) ?? '';
      expect(sid.length).toBeGreaterThan(20);
      expect(answer).not.toContain(sid);
      expect(answer).not.toContain(sid.slice(0, 12));
    }
  });

  it('ends the other browser: it is anonymous from its next request on', async () => {
    const phone = await browser('bob');
    const tablet = await browser('bob', CHROME);
    const other = (await list(phone)).find((session) => !session.current);
    events();
    expect((await phone.graphql(END, { id: other?.id })).body).toEqual({ data: { endSession: true } });
    expect(events()).toEqual([{ event: 'sessionEnded', actorId: Number(ids.bob), userId: Number(ids.bob) }]);
    expect(await whoAmI(tablet)).toBeNull();
    expect(await whoAmI(phone)).toBe('bob');
    expect((await list(phone)).map(({ current }) => current)).toEqual([true]);
    // Ended once: its id names nothing now.
    expect(codeOf((await phone.graphql(END, { id: other?.id })).body)).toBe('NOT_FOUND');
  });

  it("answers NOT_FOUND for another user's session, as for an unknown id, and ends nothing", async () => {
    const carol = await browser('carol');
    const dave = await browser('dave');
    const carols = (await list(carol))[0]?.id;
    const byOther = await dave.graphql(END, { id: carols });
    const unknown = await dave.graphql(END, { id: 'AAAAAAAAAAAAAAAAAAAAAA' });
    expect(codeOf(byOther.body)).toBe('NOT_FOUND');
    const withoutRequestId = (body: typeof byOther.body) =>
      JSON.stringify(body).replace(/"requestId":"[^"]*"/, '"requestId":"?"');
    expect(withoutRequestId(byOther.body)).toBe(withoutRequestId(unknown.body));
    expect(await whoAmI(carol)).toBe('carol');
    expect(await whoAmI(dave)).toBe('dave');
  });

  it('ends the current session as a logout, its cookie cleared', async () => {
    const client = await browser('erin');
    const [mine] = await list(client);
    expect((await client.graphql(END, { id: mine?.id })).body).toEqual({ data: { endSession: true } });
    expect(await sessionIdOf(client, app.url)).toBeUndefined();
    expect(await whoAmI(client)).toBeNull();
  });

  it('shows the last activity as of the last touch, without a write per request', async () => {
    const client = await browser('erin');
    const loginTime = clock.now().toISOString();
    clock.advance(30);
    const writes = app.sessions.store.writes;
    await whoAmI(client);
    // Within SESSION_TOUCH_INTERVAL: nothing written, and the list says the login time still.
    expect(app.sessions.store.writes).toBe(writes);
    expect((await list(client))[0]?.lastActiveAt).toBe(loginTime);
    clock.advance(60);
    await whoAmI(client);
    const [touched] = await list(client);
    expect(touched?.lastActiveAt).toBe(clock.now().toISOString());
    expect(touched?.createdAt).toBe(loginTime);
  });

  it('does not list a session past its time, and keeps the public id across a password change', async () => {
    const old = await browser('dave');
    clock.advance(3000);
    const fresh = await browser('dave', CHROME);
    clock.advance(700);
    // The first one has been idle over SESSION_IDLE_TIMEOUT: over, though nothing deleted it yet.
    const listed = await list(fresh);
    expect(listed.map(({ userAgent }) => userAgent)).toEqual(['Chrome on Windows']);
    const change = await fresh.graphql(
      'mutation ($o: String!, $n: String!) { changePassword(oldPassword: $o, newPassword: $n) }',
      { o: PASSWORD, n: 'list-password-2' },
    );
    expect(change.body).toEqual({ data: { changePassword: true } });
    expect((await list(fresh)).map(({ id, current }) => [id, current])).toEqual([[listed[0]?.id, true]]);
    expect(await whoAmI(old)).toBeNull();
  });

  it('gives a session stored before sessions had a public id one, once, and ends it by it', async () => {
    const legacy = await browser('frank', CHROME);
    const current = await browser('frank');
    const sid = (await sessionIdOf(legacy, app.url)) ?? '';
    const { store } = app.sessions;
    const [stored] = (await store.listForUser(Number(ids.frank))).filter((session) => session.sid === sid);
    // As an older version stored it: none of what the session list reads.
    const older = Object.fromEntries(
      Object.entries(stored?.data ?? {}).filter(([key]) => !['publicId', 'createdAt', 'userAgent', 'ip'].includes(key)),
    );
    await store.update(sid, older, stored?.expiresAt ?? clock.now());
    const first = (await list(current)).find((session) => !session.current);
    expect(first).toMatchObject({ id: expect.stringMatching(/^[\w-]{22}$/), userAgent: 'Unknown', address: '' });
    expect((await list(current)).find((session) => !session.current)?.id).toBe(first?.id);
    expect((await current.graphql(END, { id: first?.id })).body).toEqual({ data: { endSession: true } });
    expect(await whoAmI(legacy)).toBeNull();
  });

  it('answers UNAUTHENTICATED to an anonymous request', async () => {
    const client = new HttpClient(app.url);
    expect(codeOf((await client.graphql(SESSIONS)).body)).toBe('UNAUTHENTICATED');
    expect(codeOf((await client.graphql(END, { id: 'x' })).body)).toBe('UNAUTHENTICATED');
  });

  it("lets staff with the session permissions list and end a user's sessions", async () => {
    const admin = await browser('admin');
    const carol = await browser('carol', CHROME);
    const { body } = await admin.graphql<{ userSessions: { id: string; current: boolean; userAgent: string }[] }>(
      USER_SESSIONS,
      { u: ids.carol },
    );
    const chrome = body.data?.userSessions.find((session) => session.userAgent === 'Chrome on Windows');
    expect(body.data?.userSessions.every((session) => !session.current)).toBe(true);
    // Another user's id with this session's: nothing.
    const wrongUser = await admin.graphql(END_USER_SESSION, { u: ids.bob, id: chrome?.id });
    expect(codeOf(wrongUser.body)).toBe('NOT_FOUND');
    expect(await whoAmI(carol)).toBe('carol');
    events();
    const ended = await admin.graphql(END_USER_SESSION, { u: ids.carol, id: chrome?.id });
    expect(ended.body).toEqual({ data: { endUserSession: true } });
    expect(events()).toEqual([{ event: 'sessionEnded', actorId: Number(ids.admin), userId: Number(ids.carol) }]);
    expect(await whoAmI(carol)).toBeNull();
  });

  it('refuses the admin side to staff without the permission, to anyone on a superuser unless a superuser', async () => {
    const nosy = await browser('nosy');
    const admin = await browser('admin');
    const root = await browser('root');
    expect(codeOf((await nosy.graphql(USER_SESSIONS, { u: ids.carol })).body)).toBe('FORBIDDEN');
    expect(codeOf((await nosy.graphql(END_USER_SESSION, { u: ids.carol, id: 'x' })).body)).toBe('FORBIDDEN');
    expect(codeOf((await admin.graphql(USER_SESSIONS, { u: ids.root })).body)).toBe('FORBIDDEN');
    expect(codeOf((await admin.graphql(USER_SESSIONS, { u: '999999' })).body)).toBe('NOT_FOUND');
    expect(codeOf((await admin.graphql(USER_SESSIONS, { u: 'abc' })).body)).toBe('BAD_USER_INPUT');
    const rootSessions = await root.graphql<{ userSessions: unknown[] }>(USER_SESSIONS, { u: ids.root });
    expect(rootSessions.body.data?.userSessions).toHaveLength(1);
  });

  it('refuses staff the sessions of a user holding anything they do not: no listing, no ending', async () => {
    const admin = await browser('admin');
    const grace = await browser('grace');
    const [graceSession] = await list(grace);
    expect(codeOf((await admin.graphql(USER_SESSIONS, { u: ids.grace })).body)).toBe('FORBIDDEN');
    events();
    expect(codeOf((await admin.graphql(END_USER_SESSION, { u: ids.grace, id: graceSession?.id })).body)).toBe(
      'FORBIDDEN',
    );
    expect(events()).toEqual([]);
    expect(await whoAmI(grace)).toBe('grace');
    // A superuser holds everything: grace's sessions are theirs to list.
    const root = await browser('root');
    const listed = await root.graphql<{ userSessions: unknown[] }>(USER_SESSIONS, { u: ids.grace });
    expect(listed.body.data?.userSessions).toHaveLength(1);
  });
});
