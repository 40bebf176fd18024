/**
 * How long a session lives and what ends it: idle and absolute timeouts (with a clock the test moves), a password
 * changed anywhere, a user made inactive. And what sessions cost: nothing for anonymous traffic, one write per
 * touch interval for an active one. On each session store.
 */
import { afterAll, beforeAll, expect, it } from '@jest/globals';
import { createAuth, type Auth } from '../../src/auth/index.js';
import { User } from '../../src/entities/user.js';
import { createTestApp, type TestApp } from '../support/app.js';
import { HttpClient } from '../support/http-client.js';
import { TestClock } from '../support/clock.js';
import { describeEachStore } from '../support/session-stores.js';
import { loggedInClient, sessionIdOf, whoAmI } from '../support/sessions.js';

describeEachStore('session lifetime', (sessionStore) => {
  let app: TestApp;
  let auth: Auth;
  const clock = new TestClock();

  beforeAll(async () => {
    app = await createTestApp({
      sessionStore,
      clock,
      env: {
        ARGON2_MEMORY_KIB: '1024',
        ARGON2_TIME_COST: '1',
        SESSION_IDLE_TIMEOUT: '3600',
        SESSION_ABSOLUTE_TIMEOUT: '86400',
        SESSION_TOUCH_INTERVAL: '60',
      },
    });
    auth = createAuth(app.config);
    const em = app.database.orm.em.fork();
    for (const username of ['alice', 'bob', 'carol', 'dave']) {
      await auth.users.createUser(em, { username, password: `${username}-password-1` });
    }
  });
  afterAll(() => app.stop());

  const loggedIn = (username: string) => loggedInClient(app.url, username, `${username}-password-1`);

  it('ends after SESSION_IDLE_TIMEOUT without activity, not a second before', async () => {
    const client = await loggedIn('alice');
    const sid = (await sessionIdOf(client, app.url)) ?? '';
    clock.advance(3599);
    expect(await whoAmI(client)).toBe('alice'); // activity: the idle clock starts again
    clock.advance(3599);
    expect(await whoAmI(client)).toBe('alice');
    expect(await app.sessions.exists(sid)).toBe(true);
    clock.advance(3600);
    expect(await whoAmI(client)).toBeNull();
    // Ended for good: deleted from the store (which, left to itself, would still hold it).
    expect(await app.sessions.exists(sid)).toBe(false);
    clock.advance(-3600 * 3);
    expect(await whoAmI(client)).toBeNull();
  });

  it('ends SESSION_ABSOLUTE_TIMEOUT after login, however active', async () => {
    const client = await loggedIn('bob');
    for (let elapsed = 0; elapsed < 86_400 - 1800; elapsed += 1800) {
      clock.advance(1800);
      expect(await whoAmI(client)).toBe('bob');
    }
    clock.advance(1799);
    expect(await whoAmI(client)).toBe('bob');
    clock.advance(1);
    expect(await whoAmI(client)).toBeNull();
  });

  it('ends every session of a user whose password changed, even directly in the database', async () => {
    const phone = await loggedIn('carol');
    const laptop = await loggedIn('carol');
    const em = app.database.orm.em.fork();
    const user = await em.findOneOrFail(User, { username: 'carol' });
    await em.nativeUpdate(User, { id: user.id }, { password: await auth.hashers.make('changed-elsewhere-2') });
    expect(await whoAmI(phone)).toBeNull();
    expect(await whoAmI(laptop)).toBeNull();
  });

  it('makes the session of a user made inactive anonymous on the next request', async () => {
    const client = await loggedIn('dave');
    expect(await whoAmI(client)).toBe('dave');
    await app.database.orm.em.fork().nativeUpdate(User, { username: 'dave' }, { isActive: false });
    expect(await whoAmI(client)).toBeNull();
    await app.database.orm.em.fork().nativeUpdate(User, { username: 'dave' }, { isActive: true });
    expect(await whoAmI(client)).toBeNull(); // the session was ended, not merely hidden
  });

  it('stores nothing for 1,000 anonymous requests', async () => {
    const [sessions, writes] = [await app.sessions.count(), app.sessions.store.writes];
    const client = new HttpClient(app.url);
    for (let i = 0; i < 1000; i++) await client.graphql('{ me { username } }');
    expect(await app.sessions.count()).toBe(sessions);
    expect(app.sessions.store.writes).toBe(writes);
    expect(await client.jar.getCookies(app.url)).toEqual([]);
  });

  it('writes the session once per touch interval, not once per request: 1,000 me requests, no write', async () => {
    await app.database.orm.em
      .fork()
      .nativeUpdate(User, { username: 'alice' }, { password: await auth.hashers.make('alice-password-1') });
    const client = await loggedIn('alice');
    const before = app.sessions.store.writes;
    for (let i = 0; i < 1000; i++) expect(await whoAmI(client)).toBe('alice');
    expect(app.sessions.store.writes).toBe(before);
    clock.advance(60);
    expect(await whoAmI(client)).toBe('alice');
    expect(app.sessions.store.writes).toBe(before + 1);
  });
});
