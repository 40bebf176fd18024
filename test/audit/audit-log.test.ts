/**
 * The audit log over HTTP: a scripted day (a login, failures and a lockout, a grant by an administrator, a password
 * change, a logout) read back by staff with `auditEvents`, in order, with actor, target, address and the request id
 * of the answer that caused each; filters and pages; who may read it; no password in any column; and the requests
 * it records neither failing with it (its table gone) nor waiting for it (its table locked).
 */
import { Writable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import pg from 'pg';
import { createAuth, encodeUid } from '../../src/auth/index.js';
import { selectAll, selectOne } from '../../src/db/sql.js';
import { Permission } from '../../src/entities/permission.js';
import { User } from '../../src/entities/user.js';
import { createLogger } from '../../src/logger.js';
import { createTestApp, type TestApp } from '../support/app.js';
import { CHEAP_HASHING } from '../support/auth.js';
import { HttpClient, type GraphQLResponse } from '../support/http-client.js';
import { serverUrl } from '../support/env.js';
import { loggedInClient } from '../support/sessions.js';

const LOGIN = 'mutation ($u: String!, $p: String!) { login(username: $u, password: $p) { id } }';
const EVENTS = `query ($filter: AuditEventFilter, $first: Int, $after: String) {
  auditEvents(filter: $filter, first: $first, after: $after) {
    totalCount
    pageInfo { hasNextPage endCursor }
    edges { cursor node {
      id at kind actorId impersonatorId targetUserId targetGroupId username address requestId details
    } }
  }
}`;

interface Event {
  id: string;
  at: string;
  kind: string;
  actorId: string | null;
  impersonatorId: string | null;
  targetUserId: string | null;
  targetGroupId: string | null;
  username: string | null;
  address: string | null;
  requestId: string | null;
  details: Record<string, unknown>;
}
interface Page {
  auditEvents: {
    totalCount: number;
    pageInfo: { hasNextPage: boolean; endCursor: string | null };
    edges: { cursor: string; node: Event }[];
  };
}

const PASSWORD = 'a-fine-password-1';
/** What mallory tries: it must never reach the log. */
const GUESS = 'guess-Zq7-never-stored';
const NEW_PASSWORD = 'a-newer-password-2';

/** Log lines the server writes, parsed. */
function capturedLogger() {
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString('utf8').split('\n').filter(Boolean))
        lines.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  return { logger: createLogger('warn', stream), lines };
}

describe('the audit log', () => {
  let app: TestApp;
  const log = capturedLogger();
  const ids: Record<string, string> = {};
  const em = () => app.database.orm.em.fork();
  const auditRows = async () =>
    Number((await selectOne<{ n: string }>(em(), 'SELECT count(*) AS n FROM gqlauth_audit_event'))?.n ?? 0);
  /** Waits for the background writer: `count` rows in the table. */
  const rowsReach = async (count: number, timeoutMs = 15_000) => {
    const until = Date.now() + timeoutMs;
    for (;;) {
      const found = await auditRows();
      if (found >= count) return found;
      if (Date.now() > until) throw new Error(`${found} audit rows after ${timeoutMs} ms, expected ${count}`);
      await sleep(25);
    }
  };
  const requestIdOf = (response: GraphQLResponse) => response.headers.get('x-request-id');

  beforeAll(async () => {
    // The test is the TLS-terminating proxy: it says who each client is in X-Forwarded-For.
    app = await createTestApp({
      logger: log.logger,
      env: { ...CHEAP_HASHING, TRUST_PROXY: 'loopback', LOCKOUT_LIMIT: '3', LOCKOUT_COOLOFF: '900' },
    });
    const manager = em();
    const auth = createAuth(app.config);
    const viewAudit = await manager.findOneOrFail(Permission, {
      codename: 'view_auditevent',
      contentType: { appLabel: 'gqlauth' },
    });
    for (const [username, extra] of [
      ['alice', {}],
      ['root', { isStaff: true, isSuperuser: true }],
      ['auditor', { isStaff: true }],
      ['clerk', { isStaff: true }],
      ['outsider', {}],
    ] as const) {
      const user = await auth.users.createUser(manager, { username, password: PASSWORD, ...extra });
      ids[username] = String(user.id);
    }
    // auditor: staff with the permission; clerk: staff without it; outsider: the permission without being staff.
    for (const username of ['auditor', 'outsider']) {
      const user = await manager.findOneOrFail(User, { username }, { populate: ['userPermissions'] });
      user.userPermissions.add(viewAudit);
    }
    await manager.flush();
  });
  afterAll(() => app.stop());

  const events = async (client: HttpClient, variables: Record<string, unknown> = {}) =>
    client.graphql<Page>(EVENTS, { first: 200, ...variables });
  const nodes = (response: GraphQLResponse<Page>) => {
    expect(response.body.errors).toBeUndefined();
    return response.body.data?.auditEvents.edges.map((edge) => edge.node) ?? [];
  };

  describe('after a scripted day', () => {
    const caused: { kind: string; requestId: string | null; address: string }[] = [];
    let auditor: HttpClient;

    beforeAll(async () => {
      const as = (address: string) => ({ 'x-forwarded-for': address });
      // 09:00 alice logs in from home.
      const alice = new HttpClient(app.url);
      const login = await alice.graphql(LOGIN, { u: 'alice', p: PASSWORD }, as('198.51.100.7'));
      expect(login.body.errors).toBeUndefined();
      caused.push({ kind: 'LOGIN', requestId: requestIdOf(login), address: '198.51.100.7' });
      // 10:00 mallory guesses alice's password from elsewhere until the lockout stops her.
      const mallory = new HttpClient(app.url);
      for (let n = 0; n < 3; n += 1) {
        const failed = await mallory.graphql(LOGIN, { u: 'alice', p: `${GUESS}-${n}` }, as('203.0.113.9'));
        expect(failed.body.errors?.[0]?.extensions?.code).toBe('INVALID_CREDENTIALS');
        caused.push({ kind: 'LOGIN_FAILED', requestId: requestIdOf(failed), address: '203.0.113.9' });
      }
      const locked = await mallory.graphql(LOGIN, { u: 'alice', p: `${GUESS}-3` }, as('203.0.113.9'));
      expect(locked.body.errors?.[0]?.extensions?.code).toBe('TOO_MANY_ATTEMPTS');
      caused.push({ kind: 'LOCKOUT', requestId: requestIdOf(locked), address: '203.0.113.9' });
      // 11:00 root grants alice a permission.
      const root = new HttpClient(app.url);
      const rootLogin = await root.graphql(LOGIN, { u: 'root', p: PASSWORD }, as('192.0.2.1'));
      caused.push({ kind: 'LOGIN', requestId: requestIdOf(rootLogin), address: '192.0.2.1' });
      const grant = await root.graphql(
        'mutation ($u: ID!) { grantPermission(perm: "polls.add_poll", userId: $u) }',
        { u: ids.alice },
        as('192.0.2.1'),
      );
      expect(grant.body.data).toEqual({ grantPermission: true });
      caused.push({ kind: 'USER_PERMISSIONS_CHANGED', requestId: requestIdOf(grant), address: '192.0.2.1' });
      // A grant of what is already held changes nothing: no event.
      await root.graphql('mutation ($u: ID!) { grantPermission(perm: "polls.add_poll", userId: $u) }', {
        u: ids.alice,
      });
      // 12:00 alice changes her password, then logs out.
      const change = await alice.graphql(
        'mutation ($o: String!, $n: String!) { changePassword(oldPassword: $o, newPassword: $n) }',
        { o: PASSWORD, n: NEW_PASSWORD },
        as('198.51.100.7'),
      );
      expect(change.body.errors).toBeUndefined();
      caused.push({ kind: 'PASSWORD_CHANGED', requestId: requestIdOf(change), address: '198.51.100.7' });
      const logout = await alice.graphql('mutation { logout }', undefined, as('198.51.100.7'));
      caused.push({ kind: 'LOGOUT', requestId: requestIdOf(logout), address: '198.51.100.7' });
      // 17:00 the auditor logs in to read it all.
      auditor = new HttpClient(app.url);
      const auditorLogin = await auditor.graphql(LOGIN, { u: 'auditor', p: PASSWORD }, as('192.0.2.50'));
      caused.push({ kind: 'LOGIN', requestId: requestIdOf(auditorLogin), address: '192.0.2.50' });
      await rowsReach(caused.length);
    });

    it('lists its events in order, each with its actor, target, address and the request id of its answer', async () => {
      const day = nodes(await events(auditor));
      expect(day.map(({ kind, requestId, address }) => ({ kind, requestId, address }))).toEqual(caused);
      const [aliceIn, fail1, , , lockout, rootIn, grant, change, logout] = day;
      expect(aliceIn).toMatchObject({
        actorId: ids.alice,
        targetUserId: ids.alice,
        username: 'alice',
        details: { backend: 'model' },
      });
      // A failure has no actor (nobody is logged in): only the name tried, and why each backend said no.
      expect(fail1).toMatchObject({ actorId: null, targetUserId: null, username: 'alice' });
      expect(fail1?.details).toEqual({ reasons: [{ backend: 'model', reason: 'wrong_password' }] });
      expect(lockout).toMatchObject({ actorId: null, username: 'alice', details: { action: 'login' } });
      expect(rootIn).toMatchObject({ actorId: ids.root, targetUserId: ids.root });
      expect(grant).toMatchObject({
        actorId: ids.root,
        targetUserId: ids.alice,
        username: 'alice',
        details: { added: ['polls.add_poll'], removed: [] },
      });
      expect(change).toMatchObject({ actorId: ids.alice, targetUserId: ids.alice, username: 'alice' });
      expect(logout).toMatchObject({ actorId: ids.alice, targetUserId: ids.alice });
      // Ids in order, times never going back.
      const times = day.map((event) => Date.parse(event.at));
      expect([...times].sort((a, b) => a - b)).toEqual(times);
      expect(day.every((event) => event.impersonatorId === null)).toBe(true);
    });

    it('never holds a password tried or set, in any column', async () => {
      for (const secret of [GUESS, NEW_PASSWORD, PASSWORD]) {
        const found = await selectAll(em(), 'SELECT id FROM gqlauth_audit_event e WHERE e::text LIKE ?', [
          `%${secret}%`,
        ]);
        expect(found).toEqual([]);
      }
    });

    it('filters by actor, target, kinds and time, and pages through them', async () => {
      const all = nodes(await events(auditor));
      const kindsOf = (list: Event[]) => list.map((event) => event.kind);
      expect(kindsOf(nodes(await events(auditor, { filter: { actorId: ids.alice } })))).toEqual([
        'LOGIN',
        'PASSWORD_CHANGED',
        'LOGOUT',
      ]);
      expect(kindsOf(nodes(await events(auditor, { filter: { targetUserId: ids.alice } })))).toEqual([
        'LOGIN',
        'USER_PERMISSIONS_CHANGED',
        'PASSWORD_CHANGED',
        'LOGOUT',
      ]);
      expect(kindsOf(nodes(await events(auditor, { filter: { kinds: ['LOCKOUT', 'LOGIN_FAILED'] } })))).toEqual([
        'LOGIN_FAILED',
        'LOGIN_FAILED',
        'LOGIN_FAILED',
        'LOCKOUT',
      ]);
      expect(
        kindsOf(nodes(await events(auditor, { filter: { actorId: ids.root, kinds: ['USER_PERMISSIONS_CHANGED'] } }))),
      ).toEqual(['USER_PERMISSIONS_CHANGED']);
      // A time range: [after, before). The events up to the change, and those from it on, are the whole day.
      const change = all.find((event) => event.kind === 'PASSWORD_CHANGED');
      const before = nodes(await events(auditor, { filter: { before: change?.at } }));
      const from = nodes(await events(auditor, { filter: { after: change?.at } }));
      expect(before.every((event) => Date.parse(event.at) < Date.parse(change?.at ?? ''))).toBe(true);
      expect(from.every((event) => Date.parse(event.at) >= Date.parse(change?.at ?? ''))).toBe(true);
      expect([...before, ...from].map((event) => event.id)).toEqual(all.map((event) => event.id));

      // Pages of 3, following endCursor, hold the whole list once, in order; each tells the total.
      const paged: Event[] = [];
      let after: string | null = null;
      for (;;) {
        const response: GraphQLResponse<Page> = await events(auditor, { first: 3, ...(after ? { after } : {}) });
        const connection = response.body.data?.auditEvents;
        expect(connection?.totalCount).toBe(all.length);
        paged.push(...nodes(response));
        if (!connection?.pageInfo.hasNextPage) break;
        after = connection.pageInfo.endCursor;
      }
      expect(paged.map((event) => event.id)).toEqual(all.map((event) => event.id));
    });

    it('refuses bad arguments with BAD_USER_INPUT, and an unknown kind before running', async () => {
      const codeOf = async (variables: Record<string, unknown>) =>
        (await events(auditor, variables)).body.errors?.map((error) => error.extensions?.code);
      expect(await codeOf({ first: 0 })).toEqual(['BAD_USER_INPUT']);
      expect(await codeOf({ first: 201 })).toEqual(['BAD_USER_INPUT']);
      expect(await codeOf({ after: 'not-a-cursor!' })).toEqual(['BAD_USER_INPUT']);
      expect(await codeOf({ filter: { actorId: 'alice' } })).toEqual(['BAD_USER_INPUT']);
      expect(await codeOf({ filter: { after: '2026-12-06T12:00:00Z', before: '2026-12-06T11:00:00Z' } })).toEqual([
        'BAD_USER_INPUT',
      ]);
      expect(await codeOf({ filter: { kinds: ['PASSWORD'] } })).toEqual(['BAD_USER_INPUT']);
      expect(await codeOf({ filter: { after: 'yesterday' } })).toEqual(['BAD_USER_INPUT']);
    });
  });

  it('is read only by staff holding gqlauth.view_auditevent (or superusers)', async () => {
    const codeFor = async (client: HttpClient) => {
      const response = await events(client, { first: 1 });
      return response.body.errors?.[0]?.extensions?.code ?? (response.body.data ? 'OK' : 'NO DATA');
    };
    const before = await auditRows();
    expect(await codeFor(new HttpClient(app.url))).toBe('UNAUTHENTICATED');
    expect(await codeFor(await loggedInClient(app.url, 'clerk', PASSWORD))).toBe('FORBIDDEN');
    expect(await codeFor(await loggedInClient(app.url, 'outsider', PASSWORD))).toBe('FORBIDDEN');
    expect(await codeFor(await loggedInClient(app.url, 'auditor', PASSWORD))).toBe('OK');
    expect(await codeFor(await loggedInClient(app.url, 'root', PASSWORD))).toBe('OK');
    // Their logins' rows written before the next test counts rows.
    await rowsReach(before + 4);
  });

  it('records a password reset by link: by nobody (no one is logged in), to its user, in its request', async () => {
    const auth = createAuth(app.config);
    const dora = await auth.users.createUser(em(), { username: 'dora', email: 'dora@example.com', password: PASSWORD });
    const [resetUser] = await auth.passwordReset.usersFor(em(), 'dora@example.com');
    if (!resetUser) throw new Error('dora has no reset link');
    const before = await auditRows();
    const reset = await new HttpClient(app.url).graphql(
      'mutation ($uid: ID!, $token: String!, $pw: String!) { resetPassword(uid: $uid, token: $token, newPassword: $pw) }',
      { uid: encodeUid(dora.id), token: auth.passwordReset.token(resetUser), pw: 'doras-new-secret-5' },
    );
    expect(reset.body).toEqual({ data: { resetPassword: true } });
    await rowsReach(before + 1);
    const [last] = await selectAll(
      em(),
      'SELECT kind, actor_id, target_user_id, username, address, request_id, details FROM gqlauth_audit_event ORDER BY id DESC LIMIT 1',
    );
    expect(last).toEqual({
      kind: 'password_reset',
      actor_id: null,
      target_user_id: dora.id,
      username: 'dora',
      address: '127.0.0.1',
      request_id: requestIdOf(reset),
      details: { via: 'reset' },
    });
  });

  /** The rows a request caused, once the background writer has written `count` of them. */
  const rowsOfRequest = async (requestId: string | null, count: number) => {
    const until = Date.now() + 15_000;
    for (;;) {
      const rows = await selectAll<Record<string, unknown>>(
        em(),
        'SELECT kind, actor_id, impersonator_id, target_user_id, username FROM gqlauth_audit_event WHERE request_id = ? ORDER BY id',
        [requestId],
      );
      if (rows.length >= count || Date.now() > until) return rows;
      await sleep(25);
    }
  };

  it('attributes a login after a logout of an impersonated session to the new user alone', async () => {
    const root = await loggedInClient(app.url, 'root', PASSWORD);
    const started = await root.graphql('mutation ($u: ID!) { impersonate(userId: $u) { username } }', {
      u: ids.alice,
    });
    expect(started.body.errors).toBeUndefined();
    const relogin = await root.graphql(
      'mutation ($u: String!, $p: String!) { logout login(username: $u, password: $p) { id } }',
      { u: 'auditor', p: PASSWORD },
    );
    expect(relogin.body.errors).toBeUndefined();
    const rows = await rowsOfRequest(requestIdOf(relogin), 3);
    expect(rows).toEqual([
      {
        kind: 'logout',
        actor_id: Number(ids.alice),
        impersonator_id: Number(ids.root),
        target_user_id: Number(ids.alice),
        username: 'alice',
      },
      {
        kind: 'impersonation_ended',
        actor_id: Number(ids.root),
        impersonator_id: null,
        target_user_id: Number(ids.alice),
        username: 'alice',
      },
      // Auditor logged in: root, whose impersonation ended before it, did not.
      {
        kind: 'login',
        actor_id: Number(ids.auditor),
        impersonator_id: null,
        target_user_id: Number(ids.auditor),
        username: 'auditor',
      },
    ]);
  });

  it('keeps a token-shaped name typed at login out of its row, past the public id', async () => {
    const secret = 'S3cretPartOfAToken0123456789abcd';
    const tried = await new HttpClient(app.url).graphql(LOGIN, { u: `gqa_PUBLICid0123_${secret}`, p: 'whatever' });
    expect(tried.body.errors?.[0]?.extensions?.code).toBeDefined();
    const rows = await rowsOfRequest(requestIdOf(tried), 1);
    expect(rows.map((row) => row.kind)).toContain('login_failed');
    expect(JSON.stringify(rows)).not.toContain(secret.slice(0, 8));
    expect(rows.find((row) => row.kind === 'login_failed')?.username).toBe('gqa_PUBLICid0123…[masked]');
  });

  it('answers a request whose event cannot be written (its table gone), and writes it once the table is back', async () => {
    const before = await auditRows();
    await em().getConnection().execute('ALTER TABLE gqlauth_audit_event RENAME TO gqlauth_audit_event_away');
    let renamedBack = false;
    try {
      const client = new HttpClient(app.url);
      const login = await client.graphql<{ login: { id: string } }>(LOGIN, { u: 'clerk', p: PASSWORD });
      expect(login.status).toBe(200);
      expect(login.body.data?.login.id).toBe(ids.clerk);
      // The writer failed and is trying again.
      const until = Date.now() + 10_000;
      while (!log.lines.some((line) => line.msg === 'writing the audit log failed; trying again')) {
        if (Date.now() > until) throw new Error('the failed audit write was not logged');
        await sleep(20);
      }
      await em().getConnection().execute('ALTER TABLE gqlauth_audit_event_away RENAME TO gqlauth_audit_event');
      renamedBack = true;
      await rowsReach(before + 1);
      const [last] = await selectAll<{ kind: string; actor_id: number }>(
        em(),
        'SELECT kind, actor_id FROM gqlauth_audit_event ORDER BY id DESC LIMIT 1',
      );
      expect(last).toEqual({ kind: 'login', actor_id: Number(ids.clerk) });
    } finally {
      if (!renamedBack)
        await em().getConnection().execute('ALTER TABLE gqlauth_audit_event_away RENAME TO gqlauth_audit_event');
    }
  });

  // Another connection holding a lock on the table: the embedded database has one backend, a server has many. Skipped
  // on the embedded run for that reason; CI's second run, on the PostgreSQL server, always runs it.
  (serverUrl() ? it : it.skip)(
    'answers while the table is locked, and writes the event once the lock is released',
    async () => {
      const before = await auditRows();
      if (app.config.database.kind !== 'server') throw new Error('a database server is needed');
      const locker = new pg.Client({ connectionString: app.config.database.url });
      await locker.connect();
      const giveUp = new AbortController();
      try {
        await locker.query('BEGIN');
        await locker.query('LOCK TABLE gqlauth_audit_event IN EXCLUSIVE MODE');
        const started = Date.now();
        const client = new HttpClient(app.url);
        const answer = await Promise.race([
          client.graphql<{ login: { id: string } }>(LOGIN, { u: 'auditor', p: PASSWORD }),
          sleep(5000, 'no answer while the audit table is locked' as const, { signal: giveUp.signal }),
        ]);
        expect(typeof answer === 'string' ? answer : answer.body.data?.login.id).toBe(ids.auditor);
        expect(Date.now() - started).toBeLessThan(5000);
        // Its event waits behind the lock.
        await sleep(300);
        expect(await auditRows()).toBe(before);
        await locker.query('COMMIT');
        await rowsReach(before + 1);
      } finally {
        giveUp.abort();
        await locker.query('ROLLBACK').catch(() => undefined);
        await locker.end();
      }
    },
  );
});
