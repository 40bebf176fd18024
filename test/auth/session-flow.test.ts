/**
 * Django's session flow in the core (`login`, `getUser`, `updateSessionAuthHash`, `logout`), with no Express and no
 * GraphQL: over a session handle that keeps its session in the real PostgreSQL store (test/support/stored-session.ts).
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { storedHash } from '../../src/auth/passwords.js';
import { getUser, login, logout, updateSessionAuthHash, type SessionFlow } from '../../src/auth/session-auth.js';
import { loadConfig } from '../../src/config/index.js';
import type { User } from '../../src/entities/user.js';
import { PostgresSessionStore } from '../../src/stores/postgres-session-store.js';
import { CHEAP_HASHING, createAuthFixture, type AuthFixture } from '../support/auth.js';
import { TestClock } from '../support/clock.js';
import { testLogger } from '../support/env.js';
import { StoredSessionHandle } from '../support/stored-session.js';

describe('the session flow in the core', () => {
  const clock = new TestClock();
  const rules = loadConfig({ ...CHEAP_HASHING, SESSION_SECRET: 'a-secret-of-at-least-32-characters-long' }).session;
  let fixture: AuthFixture;
  let store: PostgresSessionStore;
  let flow: SessionFlow;
  let alice: User;

  const handle = () => StoredSessionHandle.anonymous(store, rules, clock);
  const next = (sid: string | undefined) => StoredSessionHandle.load(store, rules, clock, sid ?? '');
  const sessionsOf = async (userId: number) =>
    (
      await fixture.database.orm.em
        .getConnection()
        .execute<{ n: string }[]>('SELECT count(*) AS n FROM gqlauth_session WHERE user_id = ?', [userId])
    )[0]?.n;

  /** Sets alice's password behind the flow's back (as another process would). */
  const setPassword = async (raw: string) => {
    const em = fixture.em();
    const stored = (await storedHash(em, alice.id)) ?? '';
    await fixture.auth.passwords.replaceStored(em, alice.id, stored, await fixture.auth.hashers.make(raw));
  };

  beforeAll(async () => {
    fixture = await createAuthFixture(CHEAP_HASHING, { clock });
    store = new PostgresSessionStore(fixture.database, clock);
    flow = { auth: fixture.auth, clock, rules, logger: testLogger };
    alice = await fixture.auth.users.createUser(fixture.em(), { username: 'alice', password: 'wonderland-42' });
  });
  afterAll(() => fixture.close());
  beforeEach(async () => {
    await fixture.database.orm.em.getConnection().execute('DELETE FROM gqlauth_session');
  });

  it('logs in under a fresh id; the next request finds the user with its session, in one statement', async () => {
    const session = handle();
    await login(session, fixture.em(), alice, 'model', flow);
    expect(session.id).toEqual(expect.any(String));
    expect(session.keys).toMatchObject({ userId: alice.id, backend: 'model', loginAt: clock.now().getTime() });

    fixture.queries.length = 0;
    const request = await next(session.id);
    const user = await getUser(request, fixture.em(), flow);
    expect(user?.username).toBe('alice');
    expect(fixture.queries).toHaveLength(1);
  });

  it('gives a session a new id at every login, and the old id is gone (fixation defence)', async () => {
    const first = handle();
    await login(first, fixture.em(), alice, 'model', flow);
    const before = first.id;
    const again = await next(before);
    await login(again, fixture.em(), alice, 'model', flow);
    expect(again.id).not.toBe(before);
    expect(await store.getSessionAndUser(before ?? '')).toBeNull();
  });

  it('ends the session, anonymous from then on, once the password changed elsewhere', async () => {
    const session = handle();
    await login(session, fixture.em(), alice, 'model', flow);
    await setPassword('through-the-looking-glass');
    const request = await next(session.id);
    expect(await getUser(request, fixture.em(), flow)).toBeNull();
    expect(await store.getSessionAndUser(session.id ?? '')).toBeNull();
    await setPassword('wonderland-42');
  });

  it('ends a quiet session at SESSION_IDLE_TIMEOUT, and an active one at SESSION_ABSOLUTE_TIMEOUT', async () => {
    const quiet = handle();
    await login(quiet, fixture.em(), alice, 'model', flow);
    clock.advance(rules.idleTimeoutSeconds);
    expect(await getUser(await next(quiet.id), fixture.em(), flow)).toBeNull();

    const active = handle();
    await login(active, fixture.em(), alice, 'model', flow);
    const end = clock.now().getTime() + rules.absoluteTimeoutSeconds * 1000;
    while (clock.now().getTime() + rules.idleTimeoutSeconds * 500 < end) {
      clock.advance(rules.idleTimeoutSeconds / 2);
      const request = await next(active.id);
      expect(await getUser(request, fixture.em(), flow)).not.toBeNull();
      await request.save();
    }
    clock.advance(rules.idleTimeoutSeconds / 2);
    expect(await getUser(await next(active.id), fixture.em(), flow)).toBeNull();
  });

  it('keeps the session through a password change, under a new id and the new auth hash', async () => {
    const session = handle();
    await login(session, fixture.em(), alice, 'model', flow);
    const before = { id: session.id, keys: { ...session.keys } };
    await setPassword('through-the-looking-glass');
    await updateSessionAuthHash(session, fixture.em(), alice, flow);
    expect(session.id).not.toBe(before.id);
    expect(session.keys).toMatchObject({ userId: alice.id, loginAt: before.keys.loginAt });
    expect(session.keys.authHash).not.toBe(before.keys.authHash);
    expect((await getUser(await next(session.id), fixture.em(), flow))?.username).toBe('alice');
    await setPassword('wonderland-42');
  });

  it('logs out: the session is deleted, and userLoggedOut names who left', async () => {
    const left: unknown[] = [];
    fixture.auth.events.on('userLoggedOut', ({ user }) => {
      left.push(user?.username);
    });
    const session = handle();
    await login(session, fixture.em(), alice, 'model', flow);
    const sid = session.id;
    await logout(session, alice, flow);
    expect(session.id).toBeUndefined();
    expect(await store.getSessionAndUser(sid ?? '')).toBeNull();
    expect(await sessionsOf(alice.id)).toBe('0');
    expect(left).toEqual(['alice']);
  });
});
