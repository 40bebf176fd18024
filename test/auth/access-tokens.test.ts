/**
 * Personal access tokens over HTTP, with real headers: created from a session, used as `Authorization: Bearer`,
 * listed, revoked; never more than the owner holds now (scopes, a revoked permission, a deactivated owner, a password
 * change); bad tokens refused with no database write and counted per address; tokens masked in the logs; and Better
 * Auth's CVE-2025-61928 (keys minted for anyone without logging in) refused.
 */
import { isAuditWrite } from '../support/sql-log.js';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createAuth } from '../../src/auth/index.js';
import { createLogger } from '../../src/logger.js';
import { CHEAP_HASHING } from '../support/auth.js';
import { createTestApp, type TestApp } from '../support/app.js';
import { TestClock } from '../support/clock.js';
import { HttpClient } from '../support/http-client.js';
import { describeEachStore } from '../support/session-stores.js';
import { loggedInClient, whoAmI } from '../support/sessions.js';

const CREATE = `mutation ($input: CreateAccessTokenInput!) {
  createAccessToken(input: $input) { token accessToken { id name prefix scopes createdAt lastUsedAt expiresAt } }
}`;
const LIST = '{ myAccessTokens { id name prefix scopes createdAt lastUsedAt expiresAt } }';
const ME = '{ me { username permissions } }';
const CREATE_POLL = 'mutation { createPoll(question: "Tea or coffee?") { id } }';
const TOKEN_SHAPE = /^gqa_[A-Za-z0-9]{12}_[A-Za-z0-9]{32}$/;

type Created = {
  token: string;
  accessToken: { id: string; name: string; prefix: string; scopes: string[] | null; expiresAt: string };
};

/** The log lines and the SQL statements the server wrote (the ORM's debug lines), in order. */
function recordingLogger(lines: string[], statements: string[]) {
  return createLogger('debug', {
    write(line: string) {
      lines.push(line);
      const parsed = JSON.parse(line) as { namespace?: string; msg?: string };
      if (parsed.namespace === 'query' && parsed.msg && !isAuditWrite(parsed.msg)) statements.push(parsed.msg);
    },
  });
}

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

/** An operation sent with a token only: a fresh client, no cookie. */
function withToken(app: TestApp, token: string, query: string, variables?: Record<string, unknown>) {
  return new HttpClient(app.url).graphql(query, variables, bearer(token));
}

async function grant(app: TestApp, username: string, perms: string[]): Promise<void> {
  for (const perm of perms) {
    const [appLabel, codename] = perm.split('.');
    await app.database.orm.em
      .fork()
      .getConnection()
      .execute(
        `INSERT INTO auth_user_user_permissions (user_id, permission_id)
         SELECT u.id, p.id FROM auth_user u, auth_permission p JOIN django_content_type ct ON ct.id = p.content_type_id
          WHERE u.username = ? AND ct.app_label = ? AND p.codename = ?`,
        [username, appLabel, codename],
      );
  }
}

async function sql(app: TestApp, text: string, params: unknown[] = []): Promise<Record<string, unknown>[]> {
  return app.database.orm.em.fork().getConnection().execute(text, params);
}

describe('personal access tokens', () => {
  const clock = new TestClock();
  const lines: string[] = [];
  const statements: string[] = [];
  let app: TestApp;
  let alice: HttpClient;
  let ids: Record<string, number>;
  const id = (username: string): number => ids[username] ?? 0;
  const auditRowsOfToken = async (tokenId: string): Promise<number> =>
    (
      await sql(
        app,
        "SELECT 1 FROM gqlauth_audit_event WHERE kind = 'access_token_created' AND details->>'tokenId' = ?",
        [tokenId],
      )
    ).length;

  async function create(client: HttpClient, input: Record<string, unknown>) {
    return (await client.graphql<{ createAccessToken: Created }>(CREATE, { input })).body;
  }

  async function token(client: HttpClient, input: Record<string, unknown>): Promise<Created> {
    const body = await create(client, input);
    expect(body.errors).toBeUndefined();
    const created = body.data?.createAccessToken;
    if (!created) throw new Error('no token created');
    return created;
  }

  beforeAll(async () => {
    app = await createTestApp({
      clock,
      logger: recordingLogger(lines, statements),
      // The clock moves days ahead while `alice` stays logged in: step-up (tested in second-factor.test.ts) is not
      // what these tests are about, so the logins count as recent all along.
      env: { ...CHEAP_HASHING, LOCKOUT_LIMIT: '100', ACCESS_TOKEN_MAX_AGE: '864000', STEP_UP_MAX_AGE: '8640000' },
    });
    const em = app.database.orm.em.fork();
    const { users } = createAuth(app.config);
    ids = {};
    for (const [username, extra] of [
      ['alice', {}],
      ['bob', {}],
      ['svc', {}],
      ['staff', { isStaff: true }],
      ['clerk', { isStaff: true }],
      ['root', { isStaff: true, isSuperuser: true }],
    ] as const) {
      const user = await users.createUser(em, { username, password: `${username}-pass-1`, ...extra });
      ids[username] = user.id;
    }
    await grant(app, 'alice', ['polls.view_poll', 'polls.add_poll']);
    await grant(app, 'svc', ['polls.view_poll']);
    await grant(app, 'staff', [
      'gqlauth.add_accesstoken',
      'gqlauth.view_accesstoken',
      'gqlauth.delete_accesstoken',
      'polls.view_poll',
    ]);
    alice = await loggedInClient(app.url, 'alice', 'alice-pass-1');
  });
  afterAll(() => app.stop());

  it('creates a token from a session, answers its secret once, and stores only a keyed hash of it', async () => {
    const created = await token(alice, { name: 'deploy script' });
    expect(created.token).toMatch(TOKEN_SHAPE);
    expect(created.token.startsWith(created.accessToken.prefix)).toBe(true);
    expect(created.accessToken).toMatchObject({ name: 'deploy script', scopes: null });
    // Without an expiry: ACCESS_TOKEN_MAX_AGE from now.
    expect(Date.parse(created.accessToken.expiresAt)).toBe(clock.now().getTime() + 864_000_000);
    const rows = await sql(app, 'SELECT * FROM gqlauth_access_token WHERE id = ?', [Number(created.accessToken.id)]);
    const secret = created.token.slice(created.accessToken.prefix.length + 1);
    expect(JSON.stringify(rows)).not.toContain(secret);
    expect(rows[0]?.secret_hash).toMatch(/^[0-9a-f]{64}$/);
    // The list shows it, never the secret.
    const { body } = await alice.graphql<{ myAccessTokens: { prefix: string }[] }>(LIST);
    expect(body.data?.myAccessTokens.map((listed) => listed.prefix)).toContain(created.accessToken.prefix);
    expect(JSON.stringify(body)).not.toContain(secret);
  });

  it('authenticates a request with the bearer token alone: no cookie, no session, none set', async () => {
    const { token: secret } = await token(alice, { name: 'cli' });
    const sessions = await app.sessions.count();
    const { status, body, headers } = await withToken(app, secret, ME);
    expect(status).toBe(200);
    expect(body.data).toEqual({ me: { username: 'alice', permissions: ['polls.add_poll', 'polls.view_poll'] } });
    expect(headers.get('set-cookie')).toBeNull();
    expect(await app.sessions.count()).toBe(sessions);
    expect((await withToken(app, secret, CREATE_POLL)).body.errors).toBeUndefined();
  });

  it('records the last use at most once per touch interval, and lists it', async () => {
    const created = await token(alice, { name: 'cron' });
    const first = await withToken(app, created.token, '{ me { username } }');
    expect(first.body.errors).toBeUndefined();
    statements.length = 0;
    await withToken(app, created.token, '{ me { username } }');
    expect(statements.filter((text) => /^\s*update gqlauth_access_token/i.test(text))).toEqual([]);
    const { body } = await alice.graphql<{ myAccessTokens: { id: string; lastUsedAt: string | null }[] }>(LIST);
    const listed = body.data?.myAccessTokens.find((each) => each.id === created.accessToken.id);
    expect(listed?.lastUsedAt).toBe(clock.now().toISOString());
  });

  it('costs one statement per request once the permissions are known, as a session does', async () => {
    const { token: secret } = await token(alice, { name: 'cost' });
    await withToken(app, secret, ME);
    statements.length = 0;
    expect((await withToken(app, secret, ME)).body.errors).toBeUndefined();
    expect(statements).toHaveLength(1);
    expect(statements[0]).toMatch(/gqlauth_access_token/);
    expect(statements[0]).toMatch(/gqlauth_authz_version/);
  });

  it('stops a revoked token at once (401 UNAUTHENTICATED), and only its owner may revoke it', async () => {
    const created = await token(alice, { name: 'to revoke' });
    const bob = await loggedInClient(app.url, 'bob', 'bob-pass-1');
    const REVOKE = 'mutation ($id: ID!) { revokeAccessToken(id: $id) }';
    const byBob = await bob.graphql(REVOKE, { id: created.accessToken.id });
    expect(byBob.body.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
    expect((await withToken(app, created.token, ME)).status).toBe(200);
    const revoked = await alice.graphql(REVOKE, { id: created.accessToken.id });
    expect(revoked.body).toEqual({ data: { revokeAccessToken: true } });
    const after = await withToken(app, created.token, ME);
    expect(after.status).toBe(401);
    expect(after.headers.get('www-authenticate')).toBe('Bearer error="invalid_token"');
    expect(after.body.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    expect(after.body.data).toBeUndefined();
  });

  it('lets a token revoke itself', async () => {
    const created = await token(alice, { name: 'self-revoking' });
    const REVOKE = 'mutation ($id: ID!) { revokeAccessToken(id: $id) }';
    expect((await withToken(app, created.token, REVOKE, { id: created.accessToken.id })).body).toEqual({
      data: { revokeAccessToken: true },
    });
    expect((await withToken(app, created.token, ME)).status).toBe(401);
  });

  it("keeps a token away from its owner's other keys: no other token revoked, no session listed or ended", async () => {
    const script = await token(alice, { name: 'narrow script', scopes: ['polls.view_poll'] });
    const other = await token(alice, { name: 'deploy' });
    const REVOKE = 'mutation ($id: ID!) { revokeAccessToken(id: $id) }';
    const refused = await withToken(app, script.token, REVOKE, { id: other.accessToken.id });
    expect(refused.body.errors?.[0]?.extensions?.code).toBe('SESSION_REQUIRED');
    expect((await withToken(app, other.token, ME)).status).toBe(200);
    // Where the owner is logged in, and logging them out there, is the owner's business (as logoutOtherSessions).
    const listed = await withToken(app, script.token, '{ mySessions { id } }');
    expect(listed.body.errors?.[0]?.extensions?.code).toBe('SESSION_REQUIRED');
    const ended = await withToken(app, script.token, 'mutation { endSession(id: "anything") }');
    expect(ended.body.errors?.[0]?.extensions?.code).toBe('SESSION_REQUIRED');
    expect(await whoAmI(alice)).toBe('alice');
  });

  it('ends a token at its expiry (by the server clock), bounded by ACCESS_TOKEN_MAX_AGE', async () => {
    const inAnHour = new Date(clock.now().getTime() + 3_600_000).toISOString();
    const created = await token(alice, { name: 'hour', expiresAt: inAnHour });
    expect(created.accessToken.expiresAt).toBe(inAnHour);
    expect((await withToken(app, created.token, ME)).status).toBe(200);
    clock.advance(3600);
    expect((await withToken(app, created.token, ME)).status).toBe(401);
    const tooFar = await create(alice, {
      name: 'forever',
      expiresAt: new Date(clock.now().getTime() + 864_001_000).toISOString(),
    });
    expect(tooFar.errors?.[0]?.extensions).toMatchObject({
      code: 'BAD_USER_INPUT',
      validationErrors: [expect.objectContaining({ code: 'expiry_too_far', field: 'expiresAt' })],
    });
    const past = await create(alice, { name: 'past', expiresAt: clock.now().toISOString() });
    expect(past.errors?.[0]?.extensions).toMatchObject({
      validationErrors: [expect.objectContaining({ code: 'expiry_in_past' })],
    });
    const blank = await create(alice, { name: '   ' });
    expect(blank.errors?.[0]?.extensions).toMatchObject({
      validationErrors: [expect.objectContaining({ code: 'name_required' })],
    });
  });

  it("limits a token to its scopes, which must be the owner's permissions", async () => {
    const scoped = await token(alice, { name: 'read only', scopes: ['polls.view_poll'] });
    expect(scoped.accessToken.scopes).toEqual(['polls.view_poll']);
    expect((await withToken(app, scoped.token, ME)).body.data).toEqual({
      me: { username: 'alice', permissions: ['polls.view_poll'] },
    });
    expect((await withToken(app, scoped.token, CREATE_POLL)).body.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    const beyond = await create(alice, { name: 'greedy', scopes: ['polls.view_poll', 'auth.change_user'] });
    expect(beyond.errors?.[0]?.extensions).toMatchObject({
      code: 'BAD_USER_INPUT',
      validationErrors: [expect.objectContaining({ code: 'scope_not_held', field: 'scopes' })],
    });
    expect(beyond.data).toBeNull();
  });

  it('reaches objects granted one by one only through a scope that names their permission', async () => {
    const { body } = await alice.graphql<{ createPoll: { id: string } }>(CREATE_POLL);
    const pollId = body.data?.createPoll.id ?? '';
    // The clerk may view this one poll (guardian's object-level grant), and holds nothing at the model level.
    await sql(
      app,
      `INSERT INTO guardian_userobjectpermission (user_id, permission_id, content_type_id, object_pk)
       SELECT ?, p.id, p.content_type_id, ? FROM auth_permission p JOIN django_content_type ct ON ct.id = p.content_type_id
        WHERE ct.app_label = 'polls' AND p.codename = 'view_poll'`,
      [id('clerk'), pollId],
    );
    const clerk = await loggedInClient(app.url, 'clerk', 'clerk-pass-1');
    const POLL = 'query ($id: ID!) { poll(id: $id) { question } }';
    const viewing = await token(clerk, { name: 'one poll', scopes: ['polls.view_poll'] });
    expect((await withToken(app, viewing.token, POLL, { id: pollId })).body.data).toEqual({
      poll: { question: 'Tea or coffee?' },
    });
    const nothing = await token(clerk, { name: 'identity only', scopes: [] });
    const denied = await withToken(app, nothing.token, POLL, { id: pollId });
    expect(denied.body.data?.poll ?? null).toBeNull();
  });

  it("limits a superuser's scoped token to its scopes", async () => {
    const root = await loggedInClient(app.url, 'root', 'root-pass-1');
    const scoped = await token(root, { name: 'root read', scopes: ['polls.view_poll'] });
    expect((await withToken(app, scoped.token, ME)).body.data).toEqual({
      me: { username: 'root', permissions: ['polls.view_poll'] },
    });
    expect((await withToken(app, scoped.token, CREATE_POLL)).body.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    const users = await withToken(app, scoped.token, '{ users { totalCount } }');
    expect(users.body.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
  });

  it("keeps a superuser's scoped token out of the admin API's changes, whose rules weigh all its owner holds", async () => {
    const root = await loggedInClient(app.url, 'root', 'root-pass-1');
    const scoped = await token(root, { name: 'user admin', scopes: ['auth.change_user', 'auth.view_user'] });
    // As a superuser, auth.change_user would let it make anyone a superuser, or set anyone's password.
    const promote = await withToken(
      app,
      scoped.token,
      'mutation ($id: ID!) { updateUser(id: $id, input: { isSuperuser: true }) { id } }',
      {
        id: String(id('bob')),
      },
    );
    // Refused before its scopes are even weighed: the fields that grant power ask for a recent authentication, which
    // a token never has (SESSION_REQUIRED: only a session can reauthenticate).
    expect(promote.body.errors?.[0]?.extensions?.code).toBe('SESSION_REQUIRED');
    expect(await sql(app, 'SELECT is_superuser FROM auth_user WHERE id = ?', [id('bob')])).toEqual([
      { is_superuser: false },
    ]);
    // Reading stays within its scopes.
    const read = await withToken(app, scoped.token, 'query ($id: ID!) { user(id: $id) { username } }', {
      id: String(id('bob')),
    });
    expect(read.body.data).toEqual({ user: { username: 'bob' } });
    // Unscoped, a superuser's token reads as the superuser, and still changes no user: updateUser asks for a
    // recent authentication (step-up).
    const full = await token(root, { name: 'root all' });
    expect((await withToken(app, full.token, '{ users { totalCount } }')).body.errors).toBeUndefined();
    const renamed = await withToken(
      app,
      full.token,
      'mutation ($id: ID!) { updateUser(id: $id, input: { firstName: "Bob" }) { id } }',
      {
        id: String(id('bob')),
      },
    );
    expect(renamed.body.errors?.[0]?.extensions?.code).toBe('SESSION_REQUIRED');
  });

  it('follows the owner: a permission revoked or the owner deactivated counts at the next request', async () => {
    await grant(app, 'bob', ['polls.view_poll', 'polls.add_poll']);
    const bob = await loggedInClient(app.url, 'bob', 'bob-pass-1');
    const { token: secret } = await token(bob, { name: 'bob all' });
    expect((await withToken(app, secret, CREATE_POLL)).body.errors).toBeUndefined();
    await sql(
      app,
      `DELETE FROM auth_user_user_permissions WHERE user_id = ? AND permission_id IN (SELECT p.id FROM auth_permission p
         JOIN django_content_type ct ON ct.id = p.content_type_id WHERE ct.app_label = 'polls' AND p.codename = 'add_poll')`,
      [ids.bob],
    );
    expect((await withToken(app, secret, CREATE_POLL)).body.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    await sql(app, 'UPDATE auth_user SET is_active = false WHERE id = ?', [ids.bob]);
    expect((await withToken(app, secret, ME)).status).toBe(401);
    await sql(app, 'UPDATE auth_user SET is_active = true WHERE id = ?', [ids.bob]);
    expect((await withToken(app, secret, ME)).status).toBe(200);
  });

  it("ends the owner's tokens when their password changes (ACCESS_TOKEN_ENDS_WITH_PASSWORD)", async () => {
    const bob = await loggedInClient(app.url, 'bob', 'bob-pass-1');
    const { token: secret } = await token(bob, { name: 'before the change' });
    expect((await withToken(app, secret, ME)).status).toBe(200);
    const changed = await bob.graphql(
      'mutation { changePassword(oldPassword: "bob-pass-1", newPassword: "bob-pass-2x") }',
    );
    expect(changed.body.errors).toBeUndefined();
    expect((await withToken(app, secret, ME)).status).toBe(401);
    const { token: after } = await token(bob, { name: 'after the change' });
    expect((await withToken(app, after, ME)).status).toBe(200);
  });

  it('refuses malformed and unknown tokens with 401 and no database write (a malformed one: no statement)', async () => {
    const { token: real, accessToken } = await token(alice, { name: 'real' });
    // The audit row of its creation is written after the answer, by the recorder's own writer: waited for here, so
    // that it is not counted as a statement of the requests below.
    while ((await auditRowsOfToken(accessToken.id)) === 0) await new Promise((resolve) => setTimeout(resolve, 10));
    // The right public id with another secret, a token of the right shape never issued, and no token at all.
    const forged = `${real.slice(0, 17)}${'A'.repeat(32)}`;
    const unknown = `gqa_${'B'.repeat(12)}_${'C'.repeat(32)}`;
    for (const [header, maxStatements] of [
      ['Bearer not-a-token', 0],
      ['Bearer ', 0],
      [`Bearer ${real} extra`, 0],
      [`Bearer ${forged}`, 1],
      [`Bearer ${unknown}`, 1],
    ] as const) {
      statements.length = 0;
      const { status, body } = await new HttpClient(app.url).graphql(ME, undefined, { authorization: header });
      expect({ header, status, code: body.errors?.[0]?.extensions?.code }).toEqual({
        header,
        status: 401,
        code: 'UNAUTHENTICATED',
      });
      // The audit log's writer runs in the background: a row of an earlier test may land now, no statement of this one.
      const own = statements.filter((text) => !/^\s*insert into gqlauth_audit_event/i.test(text));
      expect(own.length).toBeLessThanOrEqual(maxStatements);
      expect(own.filter((text) => !/^\s*select/i.test(text))).toEqual([]);
    }
  });

  it('lets the token win over a cookie sent beside it: the session is neither read nor changed', async () => {
    const bob = await loggedInClient(app.url, 'bob', 'bob-pass-2x');
    const { token: secret } = await token(alice, { name: 'beside a cookie' });
    const both = await bob.graphql(ME, undefined, bearer(secret));
    expect(both.body.data).toMatchObject({ me: { username: 'alice' } });
    expect(both.headers.get('set-cookie')).toBeNull();
    expect((await bob.graphql('{ me { username } }')).body.data).toEqual({ me: { username: 'bob' } });
  });

  it('refuses session mutations and token creation to a request made with a token (SESSION_REQUIRED)', async () => {
    const { token: secret } = await token(alice, { name: 'no sessions' });
    for (const operation of [
      'mutation { login(username: "alice", password: "alice-pass-1") { id } }',
      'mutation { logout }',
      'mutation { logoutOtherSessions }',
      'mutation { changePassword(oldPassword: "alice-pass-1", newPassword: "another-pass-9") }',
      'mutation { createAccessToken(input: { name: "child" }) { token } }',
    ]) {
      const { body } = await withToken(app, secret, operation);
      expect({ operation, code: body.errors?.[0]?.extensions?.code }).toEqual({ operation, code: 'SESSION_REQUIRED' });
    }
    expect((await withToken(app, secret, ME)).status).toBe(200);
  });

  it("refuses impersonation to a superuser's token, scoped or not (SESSION_REQUIRED): it has no session to act in", async () => {
    const root = await loggedInClient(app.url, 'root', 'root-pass-1');
    const sessions = await app.sessions.count();
    for (const scopes of [null, ['polls.view_poll']]) {
      const { token: secret } = await token(root, { name: 'root script', ...(scopes ? { scopes } : {}) });
      for (const operation of [
        `mutation { impersonate(userId: "${id('alice')}") { username } }`,
        'mutation { stopImpersonating { username } }',
      ]) {
        const { status, body, headers } = await withToken(app, secret, operation);
        expect({ operation, status, code: body.errors?.[0]?.extensions?.code }).toEqual({
          operation,
          status: 200,
          code: 'SESSION_REQUIRED',
        });
        expect(headers.get('set-cookie')).toBeNull();
      }
    }
    expect(await app.sessions.count()).toBe(sessions);
  });

  describe("another user's tokens (CVE-2025-61928: keys minted for anyone)", () => {
    const FOR = (userId: number) => ({ name: 'service', userId: String(userId) });

    it('refuses to mint a token for a user anonymously', async () => {
      const { body } = await new HttpClient(app.url).graphql(CREATE, { input: FOR(id('svc')) });
      expect(body.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
      expect(body.data).toBeNull();
      expect(await sql(app, 'SELECT id FROM gqlauth_access_token WHERE user_id = ?', [ids.svc])).toEqual([]);
    });

    it('refuses it to a logged-in user without the admin permission, staff or not', async () => {
      const clerk = await loggedInClient(app.url, 'clerk', 'clerk-pass-1');
      for (const client of [alice, clerk]) {
        const { body } = await client.graphql(CREATE, { input: FOR(id('svc')) });
        expect(body.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
        const listed = await client.graphql('query ($u: ID!) { accessTokens(userId: $u) { id } }', {
          u: String(ids.svc),
        });
        expect(listed.body.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
      }
      expect(await sql(app, 'SELECT id FROM gqlauth_access_token WHERE user_id = ?', [ids.svc])).toEqual([]);
    });

    it("lets staff with gqlauth.add_accesstoken manage a service account's tokens, within what they hold", async () => {
      const staff = await loggedInClient(app.url, 'staff', 'staff-pass-1');
      const created = await token(staff, FOR(id('svc')));
      expect((await withToken(app, created.token, ME)).body.data).toEqual({
        me: { username: 'svc', permissions: ['polls.view_poll'] },
      });
      const listed = await staff.graphql<{ accessTokens: { id: string }[] }>(
        'query ($u: ID!) { accessTokens(userId: $u) { id } }',
        { u: String(ids.svc) },
      );
      expect(listed.body.data?.accessTokens).toEqual([{ id: created.accessToken.id }]);
      // Alice holds polls.add_poll, which the staff member does not: a token for her would act beyond them.
      expect((await staff.graphql(CREATE, { input: FOR(id('alice')) })).body.errors?.[0]?.extensions?.code).toBe(
        'FORBIDDEN',
      );
      // A superuser's, only by a superuser.
      expect((await staff.graphql(CREATE, { input: FOR(id('root')) })).body.errors?.[0]?.extensions?.code).toBe(
        'FORBIDDEN',
      );
      const revoked = await staff.graphql('mutation ($id: ID!) { revokeAccessToken(id: $id) }', {
        id: created.accessToken.id,
      });
      expect(revoked.body).toEqual({ data: { revokeAccessToken: true } });
      expect((await withToken(app, created.token, ME)).status).toBe(401);
    });
  });

  it("keeps a superuser's tokens from staff who are not: neither listed nor revoked (as their sessions)", async () => {
    const root = await loggedInClient(app.url, 'root', 'root-pass-1');
    const rootToken = await token(root, { name: 'root automation' });
    const staff = await loggedInClient(app.url, 'staff', 'staff-pass-1');
    const listed = await staff.graphql('query ($u: ID!) { accessTokens(userId: $u) { id name } }', {
      u: String(id('root')),
    });
    expect(listed.body.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    const revoked = await staff.graphql('mutation ($id: ID!) { revokeAccessToken(id: $id) }', {
      id: rootToken.accessToken.id,
    });
    expect(revoked.body.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
    expect((await withToken(app, rootToken.token, ME)).status).toBe(200);
  });

  it('masks anything shaped like a token in the logs, past its public id', async () => {
    const { token: secret } = await token(alice, { name: 'logged' });
    const secretPart = secret.slice(17);
    const written: string[] = [];
    const logger = createLogger('info', {
      write(line: string) {
        written.push(line);
      },
    });
    logger.info({ header: `Bearer ${secret}`, nested: { token: secret } }, `got ${secret} and ${secret.slice(0, 30)}`);
    logger.error({ err: new Error(`bad token ${secret}`) }, 'failed');
    expect(written.join('')).not.toContain(secretPart);
    expect(written.join('')).not.toContain(secretPart.slice(0, 12));
    expect(written[0]).toContain(`${secret.slice(0, 16)}…[masked]`);
    // And the server's own lines: none of this file's tokens is in any of them.
    expect(lines.join('')).not.toContain(secretPart);
  });
});

describeEachStore('guessing access tokens', (sessionStore) => {
  const clock = new TestClock();
  const statements: string[] = [];
  let app: TestApp;

  beforeAll(async () => {
    app = await createTestApp({
      clock,
      sessionStore,
      logger: recordingLogger([], statements),
      env: { ...CHEAP_HASHING, LOCKOUT_LIMIT: '3', LOCKOUT_COOLOFF: '60' },
    });
    await createAuth(app.config).users.createUser(app.database.orm.em.fork(), {
      username: 'dana',
      password: 'dana-pass-1',
    });
  });
  afterAll(() => app.stop());

  it('refuses an address that sent LOCKOUT_LIMIT bad tokens, before any lookup, even with a good token', async () => {
    const dana = await loggedInClient(app.url, 'dana', 'dana-pass-1');
    const { body } = await dana.graphql<{ createAccessToken: Created }>(CREATE, { input: { name: 'good' } });
    const good = body.data?.createAccessToken.token ?? '';
    for (let guess = 0; guess < 3; guess++) {
      const unknown = `gqa_${'D'.repeat(11)}${guess}_${'E'.repeat(32)}`;
      expect((await withToken(app, unknown, ME)).status).toBe(401);
    }
    statements.length = 0;
    const refused = await withToken(app, good, ME);
    expect(refused.status).toBe(429);
    expect(refused.body.errors?.[0]?.extensions).toMatchObject({ code: 'TOO_MANY_ATTEMPTS' });
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(statements).toEqual([]);
    // Only bearer tokens are refused: the address's session (its own count, the lockout's) goes on.
    expect((await dana.graphql('{ me { username } }')).body.data).toEqual({ me: { username: 'dana' } });
  });
});

describe('access tokens without ACCESS_TOKEN_ENDS_WITH_PASSWORD, heard by event listeners', () => {
  const events = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'token-events-')), 'events.log');
  let app: TestApp;
  let erinId = 0;

  beforeAll(async () => {
    process.env.TOKEN_EVENTS = events; // read by the listener when it is loaded
    app = await createTestApp({
      env: {
        ...CHEAP_HASHING,
        ACCESS_TOKEN_ENDS_WITH_PASSWORD: 'false',
        EVENT_LISTENERS: './test/fixtures/extensions/token-events-listener.ts',
      },
    });
    const erin = await createAuth(app.config).users.createUser(app.database.orm.em.fork(), {
      username: 'erin',
      password: 'erin-pass-1',
    });
    erinId = erin.id;
  });
  afterAll(() => app.stop());

  it("keeps a token through its owner's password change, and tells listeners of its creation and revocation", async () => {
    const erin = await loggedInClient(app.url, 'erin', 'erin-pass-1');
    const { body } = await erin.graphql<{ createAccessToken: Created }>(CREATE, {
      input: { name: 'kept', scopes: [] },
    });
    const created = body.data?.createAccessToken;
    if (!created) throw new Error(JSON.stringify(body));
    const changed = await erin.graphql(
      'mutation { changePassword(oldPassword: "erin-pass-1", newPassword: "erin-pass-2x") }',
    );
    expect(changed.body.errors).toBeUndefined();
    // An empty scope list: the token says who it is, and may nothing else.
    expect((await withToken(app, created.token, ME)).body.data).toEqual({ me: { username: 'erin', permissions: [] } });
    // Revoked by itself: the request acts as its owner, for whatever records it.
    await withToken(app, created.token, 'mutation ($id: ID!) { revokeAccessToken(id: $id) }', {
      id: created.accessToken.id,
    });
    const heard = fs
      .readFileSync(events, 'utf8')
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    const tokenId = Number(created.accessToken.id);
    expect(heard).toEqual([
      {
        event: 'accessTokenCreated',
        actorId: erinId,
        userId: erinId,
        tokenId,
        name: 'kept',
        scopes: [],
        expiresAt: created.accessToken.expiresAt,
      },
      { event: 'accessTokenRevoked', actorId: erinId, userId: erinId, tokenId, actingAs: erinId },
    ]);
    // Never the secret.
    expect(fs.readFileSync(events, 'utf8')).not.toContain(created.token.slice(17));
  });
});
