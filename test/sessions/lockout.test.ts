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
import { Lockout, addressKey, type GuardedAction } from '../../src/auth/lockout.js';
import { loadConfig } from '../../src/config/index.js';
import { openCounters } from '../../src/stores/counters.js';
import { RedisConnection } from '../../src/stores/redis-connection.js';
import { CHEAP_HASHING } from '../support/auth.js';
import { sqlLogger } from '../support/sql-log.js';
import { createTestApp, type TestApp } from '../support/app.js';
import { HttpClient } from '../support/http-client.js';
import { testLogger } from '../support/env.js';
import { describeEachStore } from '../support/session-stores.js';
import { startReplica } from '../support/replica.js';
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

  it('lets at most LOCKOUT_LIMIT of many parallel attempts have their password checked', async () => {
    const before = lookups();
    const answers = await Promise.all(
      Array.from({ length: 30 }, (_, n) => attempt('carol', `parallel-${n}`, '203.0.113.11')),
    );
    expect(lookups() - before).toBeLessThanOrEqual(5);
    expect(answers.filter((answer) => codeOf(answer) === 'TOO_MANY_ATTEMPTS').length).toBeGreaterThanOrEqual(25);
  });

  it('is shared by every server: failures on one lock the attempt on another', async () => {
    // With Redis, a process may keep its own database: a username is counted under itself whether or not that
    // database knows it (src/auth/login-names.ts), and the lock is decided before any password is checked.
    const other = await startReplica(
      app,
      { ...CHEAP_HASHING, TRUST_PROXY: 'loopback', LOCKOUT_LIMIT: '5' },
      { ownDatabase: true },
    );
    try {
      await failFiveTimes('grace', '203.0.113.13');
      const there = await new HttpClient(other.url).graphql(
        LOGIN,
        { u: 'grace', p: 'grace-pass-1' },
        { 'x-forwarded-for': '203.0.113.13' },
      );
      expect(there.body.errors?.[0]?.extensions?.code).toBe('TOO_MANY_ATTEMPTS');
    } finally {
      await other.stop();
    }
  });

  if (sessionStore === 'postgres') {
    it('opens again when the cool-off has passed (the clock moved, not waited for)', async () => {
      // Locked and unlocked by one clock: the fake one, from the first failure on.
      jest.useFakeTimers({ doNotFake: [...NOT_FAKED], now: Date.now() });
      await failFiveTimes('erin', '203.0.113.12');
      jest.setSystemTime(Date.now() + 899_000);
      expect(codeOf(await attempt('erin', 'erin-pass-1', '203.0.113.12'))).toBe('TOO_MANY_ATTEMPTS');
      jest.setSystemTime(Date.now() + 2_000);
      expect((await attempt('erin', 'erin-pass-1', '203.0.113.12')).body.data?.login.username).toBe('erin');
    });
  } else {
    it('opens again when the cool-off has passed (Redis expires the lock by its own clock: a 3 s cool-off)', async () => {
      const quick = await createTestApp({
        sessionStore,
        env: { ...CHEAP_HASHING, LOCKOUT_LIMIT: '2', LOCKOUT_COOLOFF: '3' },
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
        await sleep(3200);
        expect((await tryHank('hank-pass-1')).body.errors).toBeUndefined();
      } finally {
        await quick.stop();
      }
    });
  }
});

describeEachStore('giving places back in the counters’ store', (sessionStore) => {
  let app: TestApp;
  beforeAll(async () => {
    app = await createTestApp({ sessionStore });
  });
  afterAll(() => app.stop());

  it('never goes below 0, and does not bring back a key whose window ended (the next window starts at 0)', async () => {
    const redis =
      app.config.session.store.kind === 'redis' ? new RedisConnection(app.config.session.store, testLogger) : undefined;
    await redis?.open();
    const { counter, giveBack, close } = openCounters(app.database, redis);
    try {
      const limiter = counter({ points: 5, duration: 1 }, 'give-back-test');
      await limiter.penalty('key', 2);
      await giveBack(limiter, 'key', 5);
      expect((await limiter.get('key'))?.consumedPoints).toBe(0);
      await limiter.penalty('key', 1);
      await sleep(1100);
      // A check that ran past its window gives its place back: to nobody.
      await giveBack(limiter, 'key', 1);
      expect(await limiter.get('key')).toBeNull();
      expect((await limiter.penalty('key', 1)).consumedPoints).toBe(1);
    } finally {
      await close();
      await redis?.close();
    }
  });
});

describe('what failures are counted by (LOCKOUT_BY)', () => {
  type By = 'username_ip' | 'username' | 'ip';
  const config = loadConfig({ LOCKOUT_LIMIT: '2', LOCKOUT_COOLOFF: '60' }).lockout;
  const lockout = (by: By) =>
    new Lockout({ attempts: new RateLimiterMemory({ points: 2, duration: 60 }) }, { ...config, by }, 'secret');
  const begin = async (subject: Lockout, action: GuardedAction, username: string, ip: string) => {
    const admission = await subject.begin(action, { username, ip });
    if (!admission.admitted) throw new Error(`refused: wait ${admission.retryAfterSeconds} s`);
    return admission.attempt;
  };
  const failTwice = async (subject: Lockout, username: string, ip: string) => {
    for (let n = 0; n < 2; n += 1) await (await begin(subject, 'login', username, ip)).failed();
  };
  const locked = async (subject: Lockout, action: GuardedAction, username: string, ip: string) =>
    !(await subject.begin(action, { username, ip })).admitted;

  it.each<[By, boolean, boolean]>([
    // [by, the same user elsewhere is locked, another user at the same address is locked]
    ['username_ip', false, false],
    ['username', true, false],
    ['ip', false, true],
  ])('%s', async (by, sameUserElsewhere, otherUserSameAddress) => {
    const subject = lockout(by);
    await failTwice(subject, 'alice', '203.0.113.7');
    expect(await locked(subject, 'login', 'alice', '203.0.113.7')).toBe(true);
    expect(await locked(subject, 'login', 'alice', '198.51.100.1')).toBe(sameUserElsewhere);
    expect(await locked(subject, 'login', 'bob', '203.0.113.7')).toBe(otherUserSameAddress);
    // Look-alike spellings of one name share a counter (NFKC, as the login backend normalizes).
    expect(await locked(subject, 'login', 'ａｌｉｃｅ', '203.0.113.7')).toBe(true);
    // Each action counts apart: failed logins do not lock password changes.
    expect(await locked(subject, 'change_password', 'alice', '203.0.113.7')).toBe(false);
  });

  it('counts by address alone without forgetting on success: logging in as oneself does not wipe the guesses', async () => {
    const subject = lockout('ip');
    await (await begin(subject, 'login', 'victim', '203.0.113.7')).failed();
    await (await begin(subject, 'login', 'mallory', '203.0.113.7')).succeeded();
    await (await begin(subject, 'login', 'victim2', '203.0.113.7')).failed();
    expect(await locked(subject, 'login', 'victim3', '203.0.113.7')).toBe(true);
  });

  it('lets one address run CREDENTIAL_CONCURRENCY checks at once: the next waits for one to end', async () => {
    const subject = new Lockout(
      { addressInFlight: new RateLimiterMemory({ points: 1, duration: 60 }) },
      { ...config, addressConcurrency: 1 },
      'secret',
    );
    const first = await subject.beginCheck('203.0.113.9');
    if (!first.admitted) throw new Error('the first check was refused');
    let secondAdmitted = false;
    const second = subject.beginCheck('203.0.113.9').then((admission) => {
      secondAdmitted = admission.admitted;
      return admission;
    });
    await sleep(200);
    expect(secondAdmitted).toBe(false);
    // Another address is not held back.
    expect((await subject.beginCheck('203.0.113.10')).admitted).toBe(true);
    // A failure gives the place back too: it was a place, not a count.
    await first.attempt.failed();
    expect((await second).admitted).toBe(true);
  });

  it('gives an abandoned attempt’s places back: a failure of ours is no guess, and holds no place', async () => {
    const subject = new Lockout(
      {
        attempts: new RateLimiterMemory({ points: 2, duration: 60 }),
        addressInFlight: new RateLimiterMemory({ points: 1, duration: 60 }),
      },
      { ...config, addressConcurrency: 1 },
      'secret',
    );
    for (let n = 0; n < 3; n += 1) await (await begin(subject, 'login', 'alice', '203.0.113.11')).abandoned();
    const started = performance.now();
    await (await begin(subject, 'login', 'alice', '203.0.113.11')).failed();
    expect(performance.now() - started).toBeLessThan(1000);
    expect(await locked(subject, 'login', 'alice', '203.0.113.11')).toBe(false);
  });

  it('gives a success’s place back, so that only failures count', async () => {
    const subject = lockout('ip');
    for (let n = 0; n < 5; n += 1) await (await begin(subject, 'login', `user-${n}`, '203.0.113.8')).succeeded();
    expect(await locked(subject, 'login', 'anyone', '203.0.113.8')).toBe(false);
  });

  it.each([
    ['203.0.113.7', '203.0.113.7'],
    ['::ffff:203.0.113.7', '203.0.113.7'],
    ['2001:db8:1:2:3:4:5:6', '2001:db8:1:2::/64'],
    ['2001:db8:1:2::99', '2001:db8:1:2::/64'],
    ['2001:DB8:0001:0002:ffff::1', '2001:db8:1:2::/64'],
    ['2001:db8::1', '2001:db8:0:0::/64'],
    ['::1', '0:0:0:0::/64'],
  ])('takes %s as the client %s (an IPv6 client holds a whole /64)', (ip, expected) => {
    expect(addressKey(ip)).toBe(expected);
  });
});

describe('the lockout on the Redis connection it shares with the sessions', () => {
  it('refuses commands while the connection is not ready, leaving no rejected promise unhandled', async () => {
    const store = new RedisConnection({ url: 'redis://127.0.0.1:1', keyPrefix: 'never:' }, testLogger);
    const unhandled: unknown[] = [];
    const listener = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', listener);
    try {
      const client = store.sharedClient();
      await expect(client.eval('return 1', { keys: [], arguments: [] })).rejects.toThrow(/not connected/);
      await expect(client.del('k')).rejects.toThrow(/not connected/);
      await expect(client.multi().get('k').exec()).rejects.toThrow(/not connected/);
      await sleep(50);
      expect(unhandled).toEqual([]);
    } finally {
      process.off('unhandledRejection', listener);
      await store.close();
    }
  });
});
