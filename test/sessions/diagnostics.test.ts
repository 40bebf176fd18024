/**
 * What the debug log tells an operator about "login failed", "me is null despite a cookie" and "sessions expire
 * too fast" — and that none of it reaches the client; and corrupt session data, which ends the session, not the
 * request.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { createAuth } from '../../src/auth/index.js';
import { User } from '../../src/entities/user.js';
import { createLogger } from '../../src/logger.js';
import { CHEAP_HASHING } from '../support/auth.js';
import { createTestApp, type TestApp } from '../support/app.js';
import { TestClock } from '../support/clock.js';
import { HttpClient } from '../support/http-client.js';
import { connectRedis, describeEachStore, requireRedisUrl } from '../support/session-stores.js';
import { loggedInClient, sessionCookieValue, sessionIdOf, whoAmI } from '../support/sessions.js';

const LOGIN = 'mutation ($u: String!, $p: String!) { login(username: $u, password: $p) { id } }';

describe('debug diagnostics', () => {
  const lines: Record<string, unknown>[] = [];
  const clock = new TestClock();
  let app: TestApp;

  beforeAll(async () => {
    const logger = createLogger('debug', {
      write: (line: string) => lines.push(JSON.parse(line) as Record<string, unknown>),
    });
    app = await createTestApp({
      env: { ...CHEAP_HASHING, SESSION_IDLE_TIMEOUT: '3600', SESSION_ABSOLUTE_TIMEOUT: '7200' },
      logger,
      clock,
    });
    const em = app.database.orm.em.fork();
    const auth = createAuth(app.config);
    await auth.users.createUser(em, { username: 'alice', password: 'alice-password-1' });
    await auth.users.createUser(em, { username: 'bob', password: 'bob-password-1', isActive: false });
    await auth.users.createUser(em, { username: 'carol', password: null });
  });
  afterAll(() => app.stop());
  beforeEach(() => {
    lines.length = 0;
  });

  /** The messages logged while serving the request that got `response`. */
  const logOf = (response: { headers: Headers }) =>
    lines.filter((line) => line.reqId === response.headers.get('x-request-id')).map((line) => String(line.msg));

  it.each([
    ['an unknown user', 'nobody', 'whatever-1', 'model: unknown_user'],
    ['a wrong password', 'alice', 'not-her-password', 'model: wrong_password'],
    ['an inactive user with the right password', 'bob', 'bob-password-1', 'model: inactive'],
    ['a user without a usable password', 'carol', 'anything-at-all', 'model: unusable_password'],
  ])('says why a login failed (%s), in the log only', async (_, username, password, reason) => {
    const response = await new HttpClient(app.url).graphql(LOGIN, { u: username, p: password });
    expect(response.body.errors?.map((error) => error.extensions?.code)).toEqual(['INVALID_CREDENTIALS']);
    expect(JSON.stringify(response.body)).not.toMatch(/unknown_user|wrong_password|inactive|unusable/);
    expect(logOf(response)).toContain(`login failed: ${reason}`);
    const failure = lines.find((line) => line.msg === `login failed: ${reason}`);
    expect(failure).toMatchObject({ level: 20, credentials: { username } });
    expect(JSON.stringify(lines)).not.toContain(password);
  });

  it('says when the cookie names a session that no longer exists', async () => {
    const client = await loggedInClient(app.url, 'alice', 'alice-password-1');
    await app.sessions.clear();
    const response = await client.graphql('{ me { username } }');
    expect(response.body.data).toEqual({ me: null });
    expect(logOf(response)).toContainEqual(
      expect.stringMatching(/^the session cookie names a session that does not exist/),
    );
  });

  it('says when the cookie was signed with another secret, without logging the cookie', async () => {
    const client = await loggedInClient(app.url, 'alice', 'alice-password-1');
    const value = decodeURIComponent((await sessionCookieValue(client, app.url)) ?? '');
    const forged = `${value.slice(0, -4)}AAAA`;
    const response = await new HttpClient(app.url).graphql('{ me { username } }', undefined, {
      cookie: `sessionid=${encodeURIComponent(forged)}`,
    });
    expect(response.body.data).toEqual({ me: null });
    expect(logOf(response)).toContainEqual(expect.stringMatching(/^the session cookie has a bad signature/));
    const id = value.slice(2, value.lastIndexOf('.'));
    expect(JSON.stringify(lines)).not.toContain(id);
  });

  it('says what ended a session', async () => {
    const client = await loggedInClient(app.url, 'alice', 'alice-password-1');
    for (const step of [3000, 3000]) {
      clock.advance(step);
      expect(await whoAmI(client)).toBe('alice'); // active: the idle timeout never passes
    }
    clock.advance(1300);
    const response = await client.graphql('{ me { username } }');
    expect(response.body.data).toEqual({ me: null });
    // The store expires a session by both timeouts itself: it is gone before anything else looks at it.
    expect(logOf(response)).toContainEqual(
      expect.stringMatching(
        /does not exist \(any more\): it ended \(logout, SESSION_IDLE_TIMEOUT or SESSION_ABSOLUTE_TIMEOUT/,
      ),
    );

    const again = await loggedInClient(app.url, 'alice', 'alice-password-1');
    const em = app.database.orm.em.fork();
    await em.nativeUpdate(
      User,
      { username: 'alice' },
      { password: await createAuth(app.config).hashers.make('new-1') },
    );
    lines.length = 0;
    expect(await whoAmI(again)).toBeNull();
    expect(lines.map((line) => line.msg)).toContainEqual(
      expect.stringMatching(/^session ended: the password changed since login/),
    );

    const third = await loggedInClient(app.url, 'alice', 'new-1');
    await em.nativeUpdate(User, { username: 'alice' }, { isActive: false });
    lines.length = 0;
    expect(await whoAmI(third)).toBeNull();
    expect(lines.map((line) => line.msg)).toContain('session ended: the user is gone or inactive');
  });
});

describeEachStore('corrupt session data', (sessionStore) => {
  const lines: Record<string, unknown>[] = [];
  let app: TestApp;
  beforeAll(async () => {
    const logger = createLogger('warn', {
      write: (line: string) => lines.push(JSON.parse(line) as Record<string, unknown>),
    });
    app = await createTestApp({ env: CHEAP_HASHING, logger, sessionStore });
    await createAuth(app.config).users.createUser(app.database.orm.em.fork(), {
      username: 'dora',
      password: 'dora-password-1',
    });
  });
  afterAll(() => app.stop());

  /** Overwrites what the store holds for `sid`, as another program sharing it might. */
  async function overwrite(sid: string, raw: string): Promise<void> {
    const { store } = app.config.session;
    if (store.kind === 'postgres') {
      await app.database.orm.em
        .fork()
        .getConnection()
        .execute('UPDATE gqlauth_session SET data = ?::jsonb WHERE sid = ?', [raw, sid]);
      return;
    }
    const redis = await connectRedis(requireRedisUrl());
    try {
      await redis.set(`${store.keyPrefix}session:${sid}`, raw, { KEEPTTL: true });
    } finally {
      await redis.close();
    }
  }

  // Redis keeps { expiresAt, data } as text; the table keeps the data alone as jsonb (always JSON: only its shape).
  it.each([
    [
      'of another shape',
      JSON.stringify({ expiresAt: Date.now() + 600_000, data: { cookie: 5, userId: 'dora' } }),
      JSON.stringify({ cookie: 5, userId: 'dora' }),
    ],
    ['that is not JSON (or not a session)', '{"expiresAt": 1, "data": {', JSON.stringify('not a session')],
  ])(
    '%s: the request goes on anonymous (no 503), the session is deleted, and a warning says so',
    async (_, inRedis, inTable) => {
      const client = await loggedInClient(app.url, 'dora', 'dora-password-1');
      const sid = (await sessionIdOf(client, app.url)) ?? '';
      const stored = sessionStore === 'redis' ? inRedis : inTable;
      await overwrite(sid, stored);
      lines.length = 0;
      const response = await client.graphql('{ me { username } }');
      expect({ status: response.status, body: response.body }).toEqual({ status: 200, body: { data: { me: null } } });
      expect(await app.sessions.exists(sid)).toBe(false);
      expect(lines).toEqual([
        expect.objectContaining({
          level: 40,
          reqId: response.headers.get('x-request-id'),
          msg: expect.stringMatching(/^session data corrupted/),
        }),
      ]);
      expect(await whoAmI(await loggedInClient(app.url, 'dora', 'dora-password-1'))).toBe('dora');
    },
  );
});
