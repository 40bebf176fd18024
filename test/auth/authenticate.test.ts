/**
 * authenticate() through ordered backends, as Django's: first user wins, PermissionDenied stops the chain,
 * failures are events with scrubbed credentials. And what each outcome costs, in hasher runs.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { EntityManager } from '@mikro-orm/postgresql';
import { authenticate } from '../../src/auth/authenticate.js';
import { AuthEventBus } from '../../src/auth/events.js';
import { PermissionDenied, type AuthenticationBackend } from '../../src/auth/index.js';
import { Argon2Hasher, PasswordHashers, Pbkdf2Hasher } from '../../src/auth/hashers/index.js';
import { User } from '../../src/entities/user.js';
import { createAuthFixture, type AuthFixture } from '../support/auth.js';
import { CountingHasher as Counting } from '../support/counting-hasher.js';

describe('authenticate', () => {
  let fixture: AuthFixture;
  const preferred = new Counting(new Argon2Hasher({ memoryCost: 1024, timeCost: 1 }));
  const legacy = new Counting(new Pbkdf2Hasher({ digest: 'sha256', iterations: 1000 }));
  const runs = () => preferred.runs + legacy.runs;

  beforeAll(async () => {
    fixture = await createAuthFixture(
      { AUTHENTICATION_BACKENDS: 'model,email' },
      { hashers: new PasswordHashers([preferred, legacy]) },
    );
    const em = fixture.em();
    await fixture.auth.users.createUser(em, {
      username: 'alice',
      email: 'Alice@example.com',
      password: 'wonderland-42',
    });
    await fixture.auth.users.createUser(em, { username: 'inactive', password: 'inactive-pass', isActive: false });
    await fixture.auth.users.createUser(em, { username: 'nopass', email: 'nopass@example.com' });
    await fixture.auth.users.createUser(em, { username: 'twin1', email: 'twin@example.com', password: 'twin-pass-1' });
    await fixture.auth.users.createUser(em, { username: 'twin2', email: 'twin@example.com', password: 'twin-pass-1' });
  });
  afterAll(() => fixture.close());

  it('returns the user and the backend that recognised them', async () => {
    const byUsername = await fixture.auth.authenticate(fixture.em(), { username: 'alice', password: 'wonderland-42' });
    expect({ username: byUsername?.user.username, backend: byUsername?.backend }).toEqual({
      username: 'alice',
      backend: 'model',
    });
    const byEmail = await fixture.auth.authenticate(fixture.em(), {
      email: 'ALICE@example.com',
      password: 'wonderland-42',
    });
    expect({ username: byEmail?.user.username, backend: byEmail?.backend }).toEqual({
      username: 'alice',
      backend: 'email',
    });
  });

  it('refuses an e-mail that several users share rather than guess', async () => {
    expect(
      await fixture.auth.authenticate(fixture.em(), { email: 'twin@example.com', password: 'twin-pass-1' }),
    ).toBeNull();
    expect(
      await fixture.auth.authenticate(fixture.em(), { username: 'twin1', password: 'twin-pass-1' }),
    ).not.toBeNull();
  });

  it('matches an e-mail literally: LIKE wildcards in it match nothing else', async () => {
    expect(
      await fixture.auth.authenticate(fixture.em(), { email: '%@example.com', password: 'wonderland-42' }),
    ).toBeNull();
    expect(
      await fixture.auth.authenticate(fixture.em(), { email: 'alic_@example.com', password: 'wonderland-42' }),
    ).toBeNull();
  });

  it('costs exactly one hasher run for a wrong password, an unknown user, an inactive user, an unusable password', async () => {
    const cases = {
      'wrong password': { username: 'alice', password: 'wrong' },
      'unknown user': { username: 'mallory', password: 'wrong' },
      'inactive user': { username: 'inactive', password: 'wrong' },
      'unusable password': { username: 'nopass', password: 'wrong' },
      'unknown e-mail': { email: 'mallory@example.com', password: 'wrong' },
    };
    const costs: Record<string, number> = {};
    for (const [name, credentials] of Object.entries(cases)) {
      const before = runs();
      expect(await fixture.auth.authenticate(fixture.em(), credentials)).toBeNull();
      costs[name] = runs() - before;
    }
    expect(costs).toEqual({
      'wrong password': 1,
      'unknown user': 1,
      'inactive user': 1,
      'unusable password': 1,
      'unknown e-mail': 1,
    });
  });

  it('costs one query for a failed login, whether the user exists or not', async () => {
    const queriesFor = async (credentials: Record<string, unknown>) => {
      const before = fixture.queries.length;
      expect(await fixture.auth.authenticate(fixture.em(), credentials)).toBeNull();
      return fixture.queries.length - before;
    };
    expect({
      'wrong password': await queriesFor({ username: 'alice', password: 'wrong' }),
      'unknown user': await queriesFor({ username: 'mallory', password: 'wrong' }),
      'inactive user': await queriesFor({ username: 'inactive', password: 'inactive-pass' }),
    }).toEqual({ 'wrong password': 1, 'unknown user': 1, 'inactive user': 1 });
  });

  it('answers a megabyte-long password at the cost of one run, as for a missing user', async () => {
    const before = runs();
    expect(
      await fixture.auth.authenticate(fixture.em(), { username: 'alice', password: 'x'.repeat(1 << 20) }),
    ).toBeNull();
    expect(runs() - before).toBe(1);
  });

  it('hands out the user without its password hash', async () => {
    const result = await fixture.auth.authenticate(fixture.em(), { username: 'twin1', password: 'twin-pass-1' });
    expect(result?.user.username).toBe('twin1');
    expect(result?.user.password).toBeUndefined();
  });

  it("normalizes the username as Django's login form does (NFKC)", async () => {
    await fixture.auth.users.createUser(fixture.em(), { username: 'ﬁsh', password: 'gone-fishing-7' });
    expect(
      (await fixture.auth.authenticate(fixture.em(), { username: 'ﬁsh', password: 'gone-fishing-7' }))?.user.username,
    ).toBe('fish');
  });

  it('costs one run for a right password, plus one to rehash a hash of another algorithm', async () => {
    const em = fixture.em();
    const user = await em.findOneOrFail(User, { username: 'alice' });
    user.password = await new Pbkdf2Hasher({ digest: 'sha256', iterations: 1000 }).encode('legacy-pass');
    await em.flush();
    let before = runs();
    expect(
      await fixture.auth.authenticate(fixture.em(), { username: 'alice', password: 'legacy-pass' }),
    ).not.toBeNull();
    expect(runs() - before).toBe(2);
    before = runs();
    expect(
      await fixture.auth.authenticate(fixture.em(), { username: 'alice', password: 'legacy-pass' }),
    ).not.toBeNull();
    expect(runs() - before).toBe(1);
  });

  it('does not overwrite a password changed between the check and the rehash', async () => {
    const em = fixture.em();
    const user = await em.findOneOrFail(User, { username: 'twin2' });
    const old = await new Pbkdf2Hasher({ digest: 'sha256', iterations: 1000 }).encode('old-pass-1');
    await em.nativeUpdate(User, { id: user.id }, { password: old });
    const changed = await fixture.auth.hashers.make('new-pass-2');
    await em.nativeUpdate(User, { id: user.id }, { password: changed }); // a password change lands meanwhile
    // The check that read `old` before the change succeeds, and must not write a hash of the old password.
    expect(await fixture.auth.passwords.checkStored(em, user.id, old, 'old-pass-1')).toBe(true);
    expect(await fixture.auth.passwords.checkPassword(fixture.em(), user, 'new-pass-2')).toBe(true);
    expect(await fixture.auth.passwords.checkPassword(fixture.em(), user, 'old-pass-1')).toBe(false);
  });

  it('emits userLoginFailed with the credentials scrubbed, and nothing on success', async () => {
    const failures: unknown[] = [];
    const off = fixture.auth.events.on('userLoginFailed', (event) => {
      failures.push(event);
    });
    await fixture.auth.authenticate(fixture.em(), {
      username: 'alice',
      password: 'hunter2',
      apiToken: 'abc',
      input: { newPassword: 'hunter3', nested: [{ secretAnswer: 'blue' }] },
    });
    await fixture.auth.authenticate(fixture.em(), { username: 'alice', password: 'legacy-pass' });
    off();
    off(); // unsubscribing twice is harmless
    expect(failures).toEqual([
      {
        credentials: {
          username: 'alice',
          password: '********************',
          apiToken: '********************',
          input: { newPassword: '********************', nested: [{ secretAnswer: '********************' }] },
        },
        reasons: [
          { backend: 'model', reason: 'wrong_password' },
          { backend: 'email', reason: 'not_applicable' },
        ],
      },
    ]);
  });

  it.each<[string, Record<string, string>, string[]]>([
    ['an unknown e-mail', { email: 'mallory@example.com', password: 'x' }, ['not_applicable', 'unknown_user']],
    ['a shared e-mail', { email: 'twin@example.com', password: 'twin-pass-1' }, ['not_applicable', 'ambiguous_email']],
    ['an account without a password', { username: 'nopass', password: 'x' }, ['unusable_password', 'not_applicable']],
  ])('tells listeners why each backend said no: %s', async (_, credentials, reasons) => {
    const seen: unknown[] = [];
    const off = fixture.auth.events.on('userLoginFailed', (event) => {
      seen.push(event.reasons.map((entry) => entry.reason));
    });
    await fixture.auth.authenticate(fixture.em(), credentials);
    off();
    expect(seen).toEqual([reasons]);
  });
});

describe('the backend chain', () => {
  let fixture: AuthFixture;
  beforeAll(async () => {
    fixture = await createAuthFixture();
    await fixture.auth.users.createUser(fixture.em(), { username: 'alice', password: 'wonderland-42' });
  });
  afterAll(() => fixture.close());

  function chain(...backends: AuthenticationBackend[]) {
    return (em: EntityManager, credentials: Record<string, unknown>) =>
      authenticate(em, credentials, backends, new AuthEventBus());
  }
  const named = (name: string, answer: (em: EntityManager) => Promise<User | null>): AuthenticationBackend => ({
    name,
    authenticate: answer,
    getUser: () => Promise.resolve(null),
  });
  const alice = (em: EntityManager) => em.findOne(User, { username: 'alice' });

  it('takes the first backend that returns a user', async () => {
    const calls: string[] = [];
    const result = await chain(
      named('first', () => (calls.push('first'), Promise.resolve(null))),
      named('second', (em) => (calls.push('second'), alice(em))),
      named('third', (em) => (calls.push('third'), alice(em))),
    )(fixture.em(), {});
    expect({ backend: result?.backend, calls }).toEqual({ backend: 'second', calls: ['first', 'second'] });
  });

  it('stops at a backend that raises PermissionDenied, and says so to listeners', async () => {
    const calls: string[] = [];
    const events = new AuthEventBus();
    const reasons: unknown[] = [];
    events.on('userLoginFailed', (event) => {
      reasons.push(...event.reasons);
    });
    const quiet = named('quiet', () => Promise.resolve(null));
    await authenticate(
      fixture.em(),
      {},
      [quiet, named('gate', () => Promise.reject(new PermissionDenied('no')))],
      events,
    );
    expect(reasons).toEqual([
      { backend: 'quiet', reason: 'unknown' },
      { backend: 'gate', reason: 'permission_denied' },
    ]);
    const result = await chain(
      named('gate', () => {
        calls.push('gate');
        throw new PermissionDenied('outside office hours');
      }),
      named('next', (em) => (calls.push('next'), alice(em))),
    )(fixture.em(), {});
    expect({ result, calls }).toEqual({ result: null, calls: ['gate'] });
  });

  it('lets any other error from a backend propagate: a broken backend is not a "no"', async () => {
    await expect(
      chain(named('broken', () => Promise.reject(new Error('LDAP down'))))(fixture.em(), {}),
    ).rejects.toThrow('LDAP down');
  });
});
