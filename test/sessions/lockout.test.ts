/**
 * Brute-force lockout (django-axes' semantics), over HTTP, on each store of counters: locked after LOCKOUT_LIMIT
 * failures, the right password refused while locked without a password being checked, open again after the
 * cool-off; other users and other addresses unaffected; X-Forwarded-For rotation gains nothing; password changes
 * and reset links throttled the same way.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, jest } from '@jest/globals';
import { RateLimiterMemory } from 'rate-limiter-flexible';
import { createAuth, encodeUid } from '../../src/auth/index.js';
import { Lockout } from '../../src/auth/lockout.js';
import { CHEAP_HASHING } from '../support/auth.js';
import { sqlLogger } from '../support/sql-log.js';
import { createTestApp, type TestApp } from '../support/app.js';
import { HttpClient } from '../support/http-client.js';
import { describeEachStore } from '../support/session-stores.js';
import { loggedInClient } from '../support/sessions.js';

const LOGIN = 'mutation ($u: String!, $p: String!) { login(username: $u, password: $p) { username } }';
/** The query every password check starts with (ModelBackend): counting it counts passwords checked. */
const LOGIN_LOOKUP = 'SELECT id, password, is_active FROM auth_user WHERE username = ?';

/** Everything but Date keeps running for real (database and Redis clients need their timers). */
const NOT_FAKED = [
  'hrtime',
  'nextTick',
  'performance',
  'queueMicrotask',
  'requestAnimationFrame',
  'cancelAnimationFrame',
  'requestIdleCallback',
  'cancelIdleCallback',
  'setImmediate',
  'clearImmediate',
  'setInterval',
  'clearInterval',
  'setTimeout',
  'clearTimeout',
] as const;

describeEachStore('brute-force lockout', (sessionStore) => {
  const statements: string[] = [];
  let app: TestApp;
  beforeAll(async () => {
    const logger = sqlLogger(statements);
    // The test is the TLS-terminating proxy: it says who the client is in X-Forwarded-For.
    app = await createTestApp({
      sessionStore,
      logger,
      env: { ...CHEAP_HASHING, TRUST_PROXY: 'loopback', LOCKOUT_LIMIT: '5', LOCKOUT_COOLOFF: '900' },
    });
    const em = app.database.orm.em.fork();
    const auth = createAuth(app.config);
    for (const username of ['alice', 'bob', 'carol', 'dave', 'erin', 'frank', 'grace'])
      await auth.users.createUser(em, { username, email: `${username}@example.com`, password: `${username}-pass-1` });
  });
  afterAll(() => app.stop());
  beforeEach(() => {
    statements.length = 0;
  });
  afterEach(() => {
    jest.useRealTimers();
  });

  const attempt = (username: string, password: string, forwardedFor: string) =>
    new HttpClient(app.url).graphql<{ login: { username: string } }>(
      LOGIN,
      { u: username, p: password },
      { 'x-forwarded-for': forwardedFor },
    );
  const codeOf = (response: Awaited<ReturnType<typeof attempt>>) => response.body.errors?.[0]?.extensions?.code;
  const failFiveTimes = async (username: string, forwardedFor: string) => {
    for (let n = 0; n < 5; n += 1)
      expect(codeOf(await attempt(username, `wrong-${n}`, forwardedFor))).toBe('INVALID_CREDENTIALS');
  };
  const lookups = () => statements.filter((statement) => statement === LOGIN_LOOKUP).length;

  it('locks after 5 failures: the right password is refused, with the wait, and no password is checked', async () => {
    await failFiveTimes('alice', '203.0.113.7');
    expect(lookups()).toBe(5);
    const locked = await attempt('alice', 'alice-pass-1', '203.0.113.7');
    expect(locked.body.errors?.[0]?.extensions).toMatchObject({
      code: 'TOO_MANY_ATTEMPTS',
      retryAfterSeconds: expect.any(Number),
    });
    const wait = Number(locked.body.errors?.[0]?.extensions?.retryAfterSeconds);
    expect(wait).toBeGreaterThan(890);
    expect(wait).toBeLessThanOrEqual(900);
    expect(locked.headers.get('set-cookie')).toBeNull();
    expect(lookups()).toBe(5);
  });

  it('locks the username and address together only: other users and other addresses go on', async () => {
    await failFiveTimes('bob', '203.0.113.8');
    expect(codeOf(await attempt('bob', 'bob-pass-1', '203.0.113.8'))).toBe('TOO_MANY_ATTEMPTS');
    expect((await attempt('carol', 'carol-pass-1', '203.0.113.8')).body.data?.login.username).toBe('carol');
    expect((await attempt('bob', 'bob-pass-1', '198.51.100.1')).body.data?.login.username).toBe('bob');
  });

  it('gains an attacker nothing from rotating X-Forwarded-For: only what the trusted proxy appended counts', async () => {
    // The attacker writes any X-Forwarded-For; the proxy appends the address it saw, which is the one used.
    for (let n = 0; n < 5; n += 1) await attempt('dave', `wrong-${n}`, `10.0.0.${n}, 192.0.2.${n}, 203.0.113.9`);
    expect(codeOf(await attempt('dave', 'dave-pass-1', '10.9.9.9, 203.0.113.9'))).toBe('TOO_MANY_ATTEMPTS');
  });

  it('starts the count again after a success', async () => {
    for (let n = 0; n < 4; n += 1) await attempt('erin', `wrong-${n}`, '203.0.113.10');
    expect((await attempt('erin', 'erin-pass-1', '203.0.113.10')).body.data?.login.username).toBe('erin');
    for (let n = 0; n < 4; n += 1) await attempt('erin', `wrong-${n}`, '203.0.113.10');
    expect((await attempt('erin', 'erin-pass-1', '203.0.113.10')).body.data?.login.username).toBe('erin');
  });

  it('throttles password changes: wrong old passwords lock, then even the right one is refused', async () => {
    const client = await loggedInClient(app.url, 'frank', 'frank-pass-1');
    const change = (old: string) =>
      client.graphql('mutation ($o: String!) { changePassword(oldPassword: $o, newPassword: "franks-new-secret-9") }', {
        o: old,
      });
    for (let n = 0; n < 5; n += 1)
      expect((await change(`wrong-${n}`)).body.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    expect((await change('frank-pass-1')).body.errors?.[0]?.extensions?.code).toBe('TOO_MANY_ATTEMPTS');
  });

  it('throttles reset links per account: wrong tokens lock, then even a valid link is refused', async () => {
    const auth = createAuth(app.config);
    const [grace] = await auth.passwordReset.usersFor(app.database.orm.em.fork(), 'grace@example.com');
    const uid = encodeUid(grace?.id ?? 0);
    const reset = (token: string) =>
      new HttpClient(app.url).graphql(
        'mutation ($u: ID!, $t: String!) { resetPassword(uid: $u, token: $t, newPassword: "graces-new-secret-9") }',
        { u: uid, t: token },
      );
    for (let n = 0; n < 5; n += 1)
      expect((await reset(`bad-token-${n}`)).body.errors?.[0]?.extensions?.code).toBe('INVALID_TOKEN');
    const valid = grace ? auth.passwordReset.token(grace) : '';
    expect((await reset(valid)).body.errors?.[0]?.extensions?.code).toBe('TOO_MANY_ATTEMPTS');
  });

  if (sessionStore === 'postgres') {
    it('opens again when the cool-off has passed (the clock moved, not waited for)', async () => {
      jest.useFakeTimers({ doNotFake: [...NOT_FAKED], now: Date.now() });
      // alice was locked by the first test; 899 s later she still is.
      jest.setSystemTime(Date.now() + 899_000);
      expect(codeOf(await attempt('alice', 'alice-pass-1', '203.0.113.7'))).toBe('TOO_MANY_ATTEMPTS');
      jest.setSystemTime(Date.now() + 2_000);
      expect((await attempt('alice', 'alice-pass-1', '203.0.113.7')).body.data?.login.username).toBe('alice');
    });
  } else {
    it('opens again when the cool-off has passed (Redis expires the lock by its own clock: a 1 s cool-off)', async () => {
      const quick = await createTestApp({
        sessionStore,
        env: { ...CHEAP_HASHING, LOCKOUT_LIMIT: '2', LOCKOUT_COOLOFF: '1' },
      });
      try {
        await createAuth(quick.config).users.createUser(quick.database.orm.em.fork(), {
          username: 'hank',
          password: 'hank-pass-1',
        });
        const tryHank = (password: string) => new HttpClient(quick.url).graphql(LOGIN, { u: 'hank', p: password });
        await tryHank('wrong-1');
        await tryHank('wrong-2');
        expect((await tryHank('hank-pass-1')).body.errors?.[0]?.extensions?.code).toBe('TOO_MANY_ATTEMPTS');
        await sleep(1100);
        expect((await tryHank('hank-pass-1')).body.errors).toBeUndefined();
      } finally {
        await quick.stop();
      }
    });
  }
});

describe('what failures are counted by (LOCKOUT_BY)', () => {
  const lockout = (by: 'username_ip' | 'username' | 'ip') =>
    new Lockout(new RateLimiterMemory({ points: 2, duration: 60 }), { limit: 2, cooloffSeconds: 60, by });
  const fail = async (subject: Lockout, username: string, ip: string) => {
    await subject.failed('login', { username, ip });
    await subject.failed('login', { username, ip });
  };

  it.each<['username_ip' | 'username' | 'ip', boolean, boolean]>([
    // [by, another address for the same user is locked, another user at the same address is locked]
    ['username_ip', false, false],
    ['username', true, false],
    ['ip', false, true],
  ])('%s', async (by, sameUserElsewhere, otherUserSameAddress) => {
    const subject = lockout(by);
    await fail(subject, 'alice', '203.0.113.7');
    expect(await subject.secondsLocked('login', { username: 'alice', ip: '203.0.113.7' })).toBeGreaterThan(0);
    expect((await subject.secondsLocked('login', { username: 'alice', ip: '198.51.100.1' })) > 0).toBe(
      sameUserElsewhere,
    );
    expect((await subject.secondsLocked('login', { username: 'bob', ip: '203.0.113.7' })) > 0).toBe(
      otherUserSameAddress,
    );
    // Look-alike spellings of one name share a counter (NFKC, as the login backend normalizes).
    expect(await subject.secondsLocked('login', { username: 'ａｌｉｃｅ', ip: '203.0.113.7' })).toBeGreaterThan(0);
    // Each action counts apart: failed logins do not lock password changes.
    expect(await subject.secondsLocked('change_password', { username: 'alice', ip: '203.0.113.7' })).toBe(0);
  });
});
