/**
 * Changing a password over GraphQL: the old one is checked, the validators run, this device stays logged in under
 * a new session id, every other device is logged out. And ending the other sessions on demand. On each session
 * store.
 */
import { afterAll, beforeAll, expect, it } from '@jest/globals';
import { createAuth } from '../../src/auth/index.js';
import { User } from '../../src/entities/user.js';
import { createTestApp, type TestApp } from '../support/app.js';
import { HttpClient } from '../support/http-client.js';
import { describeEachStore } from '../support/session-stores.js';
import { loggedInClient, sessionCookieValue, whoAmI } from '../support/sessions.js';

const LOGIN = 'mutation ($u: String!, $p: String!) { login(username: $u, password: $p) { id } }';
const CHANGE = 'mutation ($old: String!, $new: String!) { changePassword(oldPassword: $old, newPassword: $new) }';

describeEachStore('changing a password', (sessionStore) => {
  let app: TestApp;
  beforeAll(async () => {
    app = await createTestApp({ sessionStore, env: { ARGON2_MEMORY_KIB: '1024', ARGON2_TIME_COST: '1' } });
    const auth = createAuth(app.config);
    const em = app.database.orm.em.fork();
    await auth.users.createUser(em, { username: 'alice', password: 'first-password-1', email: 'alice@example.com' });
    await auth.users.createUser(em, { username: 'bob', password: 'bobs-password-1' });
  });
  afterAll(() => app.stop());

  const device = (username: string, password: string) => loggedInClient(app.url, username, password);
  const sessionId = (client: HttpClient) => sessionCookieValue(client, app.url);

  it('keeps this device logged in under a new id and logs the other two out', async () => {
    const [laptop, phone, tablet] = [
      await device('alice', 'first-password-1'),
      await device('alice', 'first-password-1'),
      await device('alice', 'first-password-1'),
    ];
    const bobs = await device('bob', 'bobs-password-1');
    const before = await sessionId(laptop);

    const response = await laptop.graphql(CHANGE, { old: 'first-password-1', new: 'second-password-2' });
    expect(response.body).toEqual({ data: { changePassword: true } });

    expect(await sessionId(laptop)).not.toBe(before);
    // Only the laptop's new session is left in the store: the old id and the other devices' sessions are gone.
    const alice = await app.database.orm.em.fork().findOneOrFail(User, { username: 'alice' });
    expect(await app.sessions.count({ userId: alice.id })).toBe(1);
    expect(await whoAmI(laptop)).toBe('alice');
    expect(await whoAmI(phone)).toBeNull();
    expect(await whoAmI(tablet)).toBeNull();
    expect(await whoAmI(bobs)).toBe('bob'); // someone else's sessions are not touched
    // The new password works, the old one no longer does.
    await device('alice', 'second-password-2');
    const old = await new HttpClient(app.url).graphql(LOGIN, { u: 'alice', p: 'first-password-1' });
    expect(old.body.errors?.[0]?.extensions?.code).toBe('INVALID_CREDENTIALS');
  });

  it('refuses a wrong old password, changing nothing', async () => {
    const other = await device('bob', 'bobs-password-1');
    const client = await device('bob', 'bobs-password-1');
    const response = await client.graphql(CHANGE, { old: 'not-it', new: 'another-password-3' });
    expect(response.body.errors?.[0]?.extensions).toEqual({
      code: 'BAD_USER_INPUT',
      requestId: response.headers.get('x-request-id'),
      validationErrors: [
        { code: 'password_incorrect', message: 'Your old password was entered incorrectly.', field: 'oldPassword' },
      ],
    });
    expect(await whoAmI(client)).toBe('bob');
    expect(await whoAmI(other)).toBe('bob');
    await device('bob', 'bobs-password-1'); // the password is unchanged
  });

  it('lists every password rule the new password breaks', async () => {
    const client = await device('bob', 'bobs-password-1');
    const response = await client.graphql(CHANGE, { old: 'bobs-password-1', new: '1234' });
    const errors = response.body.errors?.[0]?.extensions?.validationErrors as { code: string }[];
    expect(errors.map((error) => error.code)).toEqual([
      'password_too_short',
      'password_too_common',
      'password_entirely_numeric',
    ]);
    expect(await whoAmI(client)).toBe('bob');
  });

  it('answers UNAUTHENTICATED when nobody is logged in', async () => {
    const response = await new HttpClient(app.url).graphql(CHANGE, { old: 'a', new: 'b' });
    expect(response.body.errors?.map((error) => error.extensions?.code)).toEqual(['UNAUTHENTICATED']);
  });

  it('ends the other sessions on demand and says how many', async () => {
    const here = await device('bob', 'bobs-password-1');
    const elsewhere = await device('bob', 'bobs-password-1');
    const bob = await app.database.orm.em.fork().findOneOrFail(User, { username: 'bob' });
    const sessions = await app.sessions.count({ userId: bob.id });
    expect(sessions).toBeGreaterThanOrEqual(2);
    const response = await here.graphql<{ logoutOtherSessions: number }>('mutation { logoutOtherSessions }');
    expect(response.body.data?.logoutOtherSessions).toBe(sessions - 1);
    expect(await app.sessions.count({ userId: bob.id })).toBe(1);
    expect(await whoAmI(here)).toBe('bob');
    expect(await whoAmI(elsewhere)).toBeNull();
    expect((await here.graphql('mutation { logoutOtherSessions }')).body).toEqual({ data: { logoutOtherSessions: 0 } });
  });
});
