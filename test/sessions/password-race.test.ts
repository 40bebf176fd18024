/**
 * Password changes racing each other: of ten concurrent `changePassword` calls exactly one wins; the others answer a
 * stable code and change nothing. Of a `changePassword` and a `resetPassword` racing, one at most; an admin's
 * `setUserPassword` beside them wins only over the password it read when it began. The password that works is always
 * the last winner's: no `true` is silently undone (no lost update).
 */
import { afterAll, beforeAll, expect, it } from '@jest/globals';
import { createAuth, encodeUid } from '../../src/auth/index.js';
import { createTestApp, type TestApp } from '../support/app.js';
import { CHEAP_HASHING } from '../support/auth.js';
import { HttpClient, type GraphQLResponse } from '../support/http-client.js';
import { describeEachStore } from '../support/session-stores.js';
import { loggedInClient } from '../support/sessions.js';

const CHANGE = 'mutation ($o: String!, $n: String!) { changePassword(oldPassword: $o, newPassword: $n) }';
const RESET = 'mutation ($u: ID!, $t: String!, $n: String!) { resetPassword(uid: $u, token: $t, newPassword: $n) }';
const SET = 'mutation ($id: ID!, $n: String!) { setUserPassword(id: $id, password: $n) }';
const LOGIN = 'mutation ($u: String!, $p: String!) { login(username: $u, password: $p) { id } }';

/** What a call answered: true, or its error code (with the validation issue's, for BAD_USER_INPUT). */
function outcome(response: GraphQLResponse): string {
  const error = response.body.errors?.[0];
  if (!error) return String(Object.values(response.body.data ?? {})[0]);
  const issue = (error.extensions?.validationErrors as { code: string }[] | undefined)?.[0]?.code;
  return [error.extensions?.code, issue].filter(Boolean).join(':');
}

/** Who lost may have checked the old password or the link after the winner wrote: then it is no longer right. */
const LOSING = new Set(['CONFLICT', 'BAD_USER_INPUT:password_incorrect', 'INVALID_TOKEN']);

describeEachStore('password changes racing each other', (sessionStore) => {
  let app: TestApp;
  let admin: HttpClient;
  beforeAll(async () => {
    // The lockout's places would make some calls wait for others; here all of them must reach the check at once.
    app = await createTestApp({ sessionStore, env: { ...CHEAP_HASHING, LOCKOUT_LIMIT: '100' } });
    await createAuth(app.config).users.createUser(app.database.orm.em.fork(), {
      username: 'root',
      password: 'root-password-1',
      isSuperuser: true,
      isStaff: true,
    });
    admin = await loggedInClient(app.url, 'root', 'root-password-1');
  });
  afterAll(() => app.stop());

  const newUser = async (username: string) =>
    createAuth(app.config).users.createUser(app.database.orm.em.fork(), {
      username,
      email: `${username}@example.com`,
      password: `${username}-password-1`,
    });
  const works = async (username: string, password: string) =>
    !(await new HttpClient(app.url).graphql(LOGIN, { u: username, p: password })).body.errors;

  it('lets exactly one of ten concurrent changePassword calls win; only its password works', async () => {
    await newUser('paula');
    const sessions = await Promise.all(
      Array.from({ length: 10 }, () => loggedInClient(app.url, 'paula', 'paula-password-1')),
    );
    const answers = await Promise.all(
      sessions.map((session, n) => session.graphql(CHANGE, { o: 'paula-password-1', n: `paulas-choice-${n}-x` })),
    );
    const outcomes = answers.map(outcome);
    expect(outcomes.filter((each) => each === 'true')).toHaveLength(1);
    expect(outcomes.filter((each) => !LOSING.has(each) && each !== 'true')).toEqual([]);
    const winner = outcomes.indexOf('true');
    for (let n = 0; n < 10; n += 1) expect(await works('paula', `paulas-choice-${n}-x`)).toBe(n === winner);
    expect(await works('paula', 'paula-password-1')).toBe(false);
  });

  it.each([1, 2, 3, 4, 5])(
    'lets exactly one of changePassword, resetPassword and setUserPassword win (round %i)',
    async (round) => {
      const username = `quinn${round}`;
      const user = await newUser(username);
      const session = await loggedInClient(app.url, username, `${username}-password-1`);
      // The link is made after the login (a login voids older links).
      const [resetUser] = await createAuth(app.config).passwordReset.usersFor(
        app.database.orm.em.fork(),
        `${username}@example.com`,
      );
      const token = resetUser ? createAuth(app.config).passwordReset.token(resetUser) : '';
      const calls: [string, () => Promise<GraphQLResponse>][] = [
        ['change', () => session.graphql(CHANGE, { o: `${username}-password-1`, n: `${username}-by-change-x` })],
        [
          'reset',
          () =>
            new HttpClient(app.url).graphql(RESET, { u: encodeUid(user.id), t: token, n: `${username}-by-reset-x` }),
        ],
        ['set', () => admin.graphql(SET, { id: String(user.id), n: `${username}-by-set-x` })],
      ];
      const outcomes = (await Promise.all(calls.map(([, call]) => call()))).map(outcome);
      const [changed, reset, set] = outcomes;
      expect(outcomes.filter((each) => !LOSING.has(each) && each !== 'true')).toEqual([]);
      // The change and the link both hold only for the password they started from: one of them at most.
      expect([changed, reset].filter((each) => each === 'true').length).toBeLessThanOrEqual(1);
      expect(outcomes).toContain('true');
      // The admin's change holds for the password it read when it began: it loses to a change that won meanwhile
      // (CONFLICT), or, begun after that change was done, knowingly replaces it. Never is a `true` silently undone
      // by a write made from an older password: the password that works is the last winner's.
      const last = set === 'true' ? 'set' : changed === 'true' ? 'change' : 'reset';
      for (const [, [name]] of calls.entries())
        expect(await works(username, `${username}-by-${name}-x`)).toBe(name === last);
    },
  );
});
