/**
 * What only the Redis session store does, on the real Redis of the run (TEST_REDIS_URL; skipped without one): its
 * keys and their TTLs, the per-user set behind logoutOtherSessions, and a Redis outage (through a TCP proxy the
 * test cuts) answered with SERVICE_UNAVAILABLE and healed without a restart.
 */
import { afterAll, beforeAll, expect, it } from '@jest/globals';
import type { SessionData } from 'express-session';
import { createAuth } from '../../src/auth/index.js';
import { User } from '../../src/entities/user.js';
import { createTestApp, type TestApp } from '../support/app.js';
import { HttpClient } from '../support/http-client.js';
import { connectRedis, describeWithRedis, requireRedisUrl, type RedisClient } from '../support/session-stores.js';
import { loggedInClient, sessionIdOf, whoAmI } from '../support/sessions.js';
import { startTcpProxy, type TcpProxy } from '../support/tcp-proxy.js';
import { TestClock } from '../support/clock.js';

const LOGIN = 'mutation ($u: String!, $p: String!) { login(username: $u, password: $p) { id } }';
const FAST = { ARGON2_MEMORY_KIB: '1024', ARGON2_TIME_COST: '1' };

interface Stored {
  expiresAt: number;
  data: SessionData;
}

describeWithRedis('the Redis session store', () => {
  let app: TestApp;
  let redis: RedisClient;
  let prefix: string;
  const clock = new TestClock();
  const ids: Record<string, number> = {};

  beforeAll(async () => {
    app = await createTestApp({
      sessionStore: 'redis',
      clock,
      env: { ...FAST, SESSION_IDLE_TIMEOUT: '3600', SESSION_ABSOLUTE_TIMEOUT: '7200', SESSION_TOUCH_INTERVAL: '60' },
    });
    const { store } = app.config.session;
    prefix = store.kind === 'redis' ? store.keyPrefix : '';
    redis = await connectRedis(requireRedisUrl());
    const auth = createAuth(app.config);
    const em = app.database.orm.em.fork();
    for (const username of ['alice', 'bob', 'carol', 'dave', 'erin', 'frank']) {
      ids[username] = (await auth.users.createUser(em, { username, password: `${username}-password-1` })).id;
    }
  });
  afterAll(async () => {
    await redis.close();
    await app.stop();
  });

  const loggedIn = (username: string) => loggedInClient(app.url, username, `${username}-password-1`);
  const sid = async (client: HttpClient) => (await sessionIdOf(client, app.url)) ?? '';
  const stored = async (id: string) => {
    const raw = await redis.get(`${prefix}session:${id}`);
    return raw === null ? null : (JSON.parse(raw) as Stored);
  };
  const sessionTtl = (id: string) => redis.pTTL(`${prefix}session:${id}`);
  const userSet = async (username: string) => (await redis.sMembers(`${prefix}user:${ids[username]}`)).sort();

  it("keeps a session as one key of JSON under the prefix, and its id in the user's set", async () => {
    const client = await loggedIn('alice');
    const id = await sid(client);
    expect(id).toMatch(/^[\w-]{20,}$/);
    const session = await stored(id);
    expect(session?.data).toMatchObject({ userId: ids.alice, backend: 'model', loginAt: clock.now().getTime() });
    expect(session?.expiresAt).toBe(clock.now().getTime() + 3600 * 1000);
    expect(await userSet('alice')).toEqual([id]);
    // Nothing outside the prefix, nothing else inside it.
    // Beside the lockout's counters (test/sessions/guessing.test.ts).
    const keys = (await redis.keys(`${prefix}*`)).filter((key) => !key.startsWith(`${prefix}lockout`));
    expect(keys.sort()).toEqual([`${prefix}session:${id}`, `${prefix}user:${ids.alice}`]);
  });

  it('gives the key a TTL from the idle timeout, then from the absolute timeout as it nears', async () => {
    const client = await loggedIn('bob');
    const id = await sid(client);
    const near = (ttl: number, expected: number) => {
      expect(ttl).toBeLessThanOrEqual(expected);
      expect(ttl).toBeGreaterThan(expected - 5000);
    };
    near(await sessionTtl(id), 3600 * 1000); // idle timeout: 1 h
    clock.advance(3000);
    expect(await whoAmI(client)).toBe('bob'); // activity recorded: idle end moves to 3000 + 3600 s
    near(await sessionTtl(id), 3600 * 1000);
    clock.advance(3000);
    expect(await whoAmI(client)).toBe('bob'); // idle end would be 9600 s, but the absolute end is 7200 s
    near(await sessionTtl(id), 1200 * 1000);
    expect((await stored(id))?.expiresAt).toBe(clock.now().getTime() + 1200 * 1000);
    // The user's set outlives the session in it.
    expect(await redis.pTTL(`${prefix}user:${ids.bob}`)).toBeGreaterThanOrEqual(await sessionTtl(id));
  });

  it('deletes a session that the server clock says is over, though Redis still holds it', async () => {
    const client = await loggedIn('carol');
    const id = await sid(client);
    clock.advance(3600);
    expect(await sessionTtl(id)).toBeGreaterThan(0); // Redis's own clock has not moved
    // The store itself answers "no session" (what express-session asks before the server looks at the times).
    expect(await app.sessions.store.getSessionAndUser(id)).toBeNull();
    expect(await stored(id)).toBeNull();
    expect(await userSet('carol')).toEqual([]);
    expect(await whoAmI(client)).toBeNull();
  });

  it("ends all of a user's sessions but one, counting only those that still existed", async () => {
    const [here, phone, tablet, old] = [
      await loggedIn('dave'),
      await loggedIn('dave'),
      await loggedIn('dave'),
      await loggedIn('dave'),
    ];
    const bobs = await loggedIn('bob');
    // One session ended behind the set's back, as when its key expires in Redis.
    await redis.del(`${prefix}session:${await sid(old)}`);
    expect(await userSet('dave')).toHaveLength(4);

    const response = await here.graphql<{ logoutOtherSessions: number }>('mutation { logoutOtherSessions }');
    expect(response.body.data?.logoutOtherSessions).toBe(2);
    expect(await userSet('dave')).toEqual([await sid(here)]); // the stale id is gone from the set too
    expect(await whoAmI(here)).toBe('dave');
    expect(await whoAmI(phone)).toBeNull();
    expect(await whoAmI(tablet)).toBeNull();
    expect(await whoAmI(bobs)).toBe('bob');

    // Without an exception, every session of the user ends, and the count is right again.
    expect(await app.sessions.store.destroyForUser(ids.dave ?? 0)).toBe(1);
    expect(await whoAmI(here)).toBeNull();
    expect(await app.sessions.store.destroyForUser(ids.dave ?? 0)).toBe(0);
  });

  it("drops the ids of a user's expired sessions from the set at the next login", async () => {
    const first = await loggedIn('erin');
    await redis.del(`${prefix}session:${await sid(first)}`);
    const second = await loggedIn('erin');
    expect(await userSet('erin')).toEqual([await sid(second)]);
  });

  it('does not count a session that a late write tried to bring back', async () => {
    const [here, other, gone] = [await loggedIn('frank'), await loggedIn('frank'), await loggedIn('frank')];
    const goneId = await sid(gone);
    const data = (await stored(goneId))?.data;
    await gone.graphql('mutation { logout }');
    const lastActivityAt = clock.now().getTime();
    await app.sessions.store.update(goneId, { ...data, lastActivityAt }, new Date(lastActivityAt + 3600 * 1000));
    expect(await stored(goneId)).toBeNull();
    const response = await here.graphql<{ logoutOtherSessions: number }>('mutation { logoutOtherSessions }');
    expect(response.body.data?.logoutOtherSessions).toBe(1); // `other`, not `gone`
    expect(await whoAmI(other)).toBeNull();
    expect(await userSet('frank')).toEqual([await sid(here)]);
  });
});

describeWithRedis('a Redis outage', () => {
  let proxy: TcpProxy;
  let app: TestApp;

  beforeAll(async () => {
    const target = new URL(requireRedisUrl());
    proxy = await startTcpProxy(target.hostname, Number(target.port || 6379));
    const through = new URL(target);
    through.host = `127.0.0.1:${proxy.port}`;
    app = await createTestApp({
      sessionStore: 'redis',
      env: { ...FAST, REDIS_URL: through.toString() },
    });
    await createAuth(app.config).users.createUser(app.database.orm.em.fork(), {
      username: 'alice',
      password: 'wonderland-42',
    });
  });
  afterAll(async () => {
    await app.stop();
    await proxy.close();
  });

  async function readyWithin(ms: number): Promise<boolean> {
    const deadline = Date.now() + ms;
    while (Date.now() < deadline) {
      if ((await app.client.fetch('/readyz')).status === 200) return true;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    return false;
  }

  it('answers SERVICE_UNAVAILABLE at once and sends no cookie while Redis is down, and heals when it returns', async () => {
    const browser = await loggedInClient(app.url, 'alice', 'wonderland-42');
    expect(await whoAmI(browser)).toBe('alice');
    expect((await app.client.fetch('/readyz')).status).toBe(200);

    proxy.cut('refuse'); // as when Redis is down: nothing listens
    const started = performance.now();
    const login = await new HttpClient(app.url).graphql(LOGIN, { u: 'alice', p: 'wonderland-42' });
    expect(performance.now() - started).toBeLessThan(2000); // fails fast: nothing queued until Redis returns
    expect(login.body.errors?.map((error) => error.extensions?.code)).toEqual(['SERVICE_UNAVAILABLE']);
    expect(login.headers.get('set-cookie')).toBeNull();
    // A request presenting a session cannot load it: 503, not a crash and not an anonymous answer.
    const me = await browser.graphql('{ me { username } }');
    expect(me.status).toBe(503);
    expect(me.body).toEqual({
      errors: [
        { message: 'Service unavailable', extensions: { code: 'SERVICE_UNAVAILABLE', requestId: expect.any(String) } },
      ],
    });
    // Anonymous traffic never touches the store.
    expect((await new HttpClient(app.url).graphql('{ me { username } }')).body).toEqual({ data: { me: null } });
    const ready = await app.client.fetch('/readyz');
    expect(ready.status).toBe(503);
    expect(await ready.json()).toEqual({ status: 'session store unavailable' });
    expect((await app.client.fetch('/healthz')).status).toBe(200);

    await proxy.restore();
    expect(await readyWithin(10_000)).toBe(true);
    expect(await whoAmI(browser)).toBe('alice'); // the session outlived the outage
    const again = new HttpClient(app.url);
    const relogin = await again.graphql(LOGIN, { u: 'alice', p: 'wonderland-42' });
    expect(relogin.body.errors).toBeUndefined();
    expect(relogin.headers.getSetCookie().some((cookie) => cookie.startsWith('sessionid='))).toBe(true);
    expect(await whoAmI(again)).toBe('alice');
    const alice = await app.database.orm.em.fork().findOneOrFail(User, { username: 'alice' });
    expect(await app.sessions.count({ userId: alice.id })).toBe(2);
  });

  it('opens a new connection when the open one goes silent (half-open), instead of waiting minutes for TCP', async () => {
    const browser = await loggedInClient(app.url, 'alice', 'wonderland-42');
    proxy.freeze(); // the connection stays open, and nothing comes back on it
    const started = performance.now();
    const stuck = await browser.graphql('{ me { username } }');
    expect(stuck.status).toBe(503); // bounded by the command timeout, not by TCP's
    expect(performance.now() - started).toBeLessThan(5000);
    // The store has opened a new connection (new connections pass the proxy): back within seconds.
    expect(await readyWithin(10_000)).toBe(true);
    expect(await whoAmI(browser)).toBe('alice');
  });
});
