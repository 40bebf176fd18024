/**
 * What an authenticated request costs the database, counted statement by statement (the ORM's log): the session
 * and its user in one statement, the user's groups and permissions in one more, and that one only until this
 * process has them under the current authorization version. No session write inside the touch interval. On each
 * session store (with Redis, the session costs no SQL and the user is the first statement).
 */
import { afterAll, beforeAll, expect, it } from '@jest/globals';
import { createAuth } from '../../src/auth/index.js';
import { CHEAP_HASHING } from '../support/auth.js';
import { createTestApp, type TestApp } from '../support/app.js';
import { HttpClient } from '../support/http-client.js';
import { describeEachStore } from '../support/session-stores.js';
import { loggedInClient } from '../support/sessions.js';
import { sqlLogger } from '../support/sql-log.js';

const ME = '{ me { id username groups { name } permissions } }';

describeEachStore('the cost of an authenticated request', (sessionStore) => {
  let app: TestApp;
  let client: HttpClient;
  const statements: string[] = [];

  beforeAll(async () => {
    app = await createTestApp({ sessionStore, env: CHEAP_HASHING, logger: sqlLogger(statements) });
    const em = app.database.orm.em.fork();
    const user = await createAuth(app.config).users.createUser(em, { username: 'erin', password: 'erin-pass-1' });
    const connection = em.getConnection();
    await connection.execute("INSERT INTO auth_group (name) VALUES ('readers'), ('writers')");
    await connection.execute(
      `INSERT INTO auth_user_groups (user_id, group_id) SELECT ?, id FROM auth_group WHERE name IN ('readers', 'writers')`,
      [user.id],
    );
    await connection.execute(
      `INSERT INTO auth_group_permissions (group_id, permission_id)
       SELECT g.id, p.id FROM auth_group g, auth_permission p JOIN django_content_type ct ON ct.id = p.content_type_id
        WHERE g.name = 'readers' AND ct.app_label = 'polls' AND p.codename = 'view_poll'`,
    );
    await connection.execute(
      `INSERT INTO auth_user_user_permissions (user_id, permission_id) SELECT ?, p.id FROM auth_permission p
         JOIN django_content_type ct ON ct.id = p.content_type_id WHERE ct.app_label = 'auth' AND p.codename = 'view_user'`,
      [user.id],
    );
    client = await loggedInClient(app.url, 'erin', 'erin-pass-1');
  });
  afterAll(() => app.stop());

  async function me(): Promise<{ answer: unknown; statements: string[] }> {
    statements.length = 0;
    const { body } = await client.graphql(ME);
    expect(body.errors).toBeUndefined();
    return { answer: body.data, statements: [...statements] };
  }

  it('answers me with groups and permissions in 2 statements at most, then 1', async () => {
    const first = await me();
    expect(first.answer).toEqual({
      me: {
        id: expect.any(String),
        username: 'erin',
        groups: [{ name: 'readers' }, { name: 'writers' }],
        permissions: ['auth.view_user', 'polls.view_poll'],
      },
    });
    expect(first.statements.length).toBeLessThanOrEqual(2);
    const second = await me();
    expect(second.answer).toEqual(first.answer);
    // The session and the user (PostgreSQL store), or the user alone (Redis): the groups and permissions are known.
    expect(second.statements).toHaveLength(1);
    expect(second.statements[0]).toMatch(/auth_user/);
    expect(second.statements[0]).toMatch(/gqlauth_authz_version/);
  });

  it('answers requests without a session cookie with no session: no statement, no store call, no cookie', async () => {
    const anonymous = new HttpClient(app.url);
    const writes = app.sessions.store.writes;
    statements.length = 0;
    for (const operation of ['{ me { id } }', 'mutation { logout }']) {
      const { body, headers } = await anonymous.graphql(operation);
      expect(body.errors).toBeUndefined();
      expect(headers.get('set-cookie')).toBeNull();
    }
    expect({ statements, writes: app.sessions.store.writes - writes }).toEqual({ statements: [], writes: 0 });
  });

  it('finds the session cookie as express-session parses it: blanks around its name are no way to drop it', async () => {
    const cookie = await client.jar.getCookieString(app.url);
    const name = app.config.session.cookieName;
    const spaced = cookie.replace(`${name}=`, `${name} =`);
    expect(spaced).not.toBe(cookie);
    const { body } = await new HttpClient(app.url).graphql('{ me { username } }', undefined, {
      cookie: `theme=dark; ${spaced}`,
    });
    expect(body).toEqual({ data: { me: { username: 'erin' } } });
  });

  it('writes no session on 100 requests inside the touch interval', async () => {
    const writes: string[] = [];
    for (let request = 0; request < 100; request++) {
      const { statements: sent } = await me();
      writes.push(...sent.filter((sql) => /^\s*(insert into|update|delete from) gqlauth_session/i.test(sql)));
    }
    expect(writes).toEqual([]);
  });

  it('reads the groups and permissions again once anything that decides them changed', async () => {
    await me();
    await app.database.orm.em
      .fork()
      .getConnection()
      .execute("UPDATE auth_group SET name = 'editors' WHERE name = 'writers'");
    const after = await me();
    expect(after.answer).toMatchObject({ me: { groups: [{ name: 'editors' }, { name: 'readers' }] } });
    expect(after.statements).toHaveLength(2);
  });
});
