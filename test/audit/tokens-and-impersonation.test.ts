/**
 * The audit log of issue 22's other parts, end to end over HTTP: a user's access token created, used and revoked, and
 * a support session (a superuser acting as the user, ending one of her sessions from her list, then stopping). Each
 * row names who acted, for whom, and under impersonation the real user too; no row holds the token.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createAuth } from '../../src/auth/index.js';
import { selectAll, selectOne } from '../../src/db/sql.js';
import { createTestApp, type TestApp } from '../support/app.js';
import { CHEAP_HASHING } from '../support/auth.js';
import { HttpClient } from '../support/http-client.js';
import { loggedInClient, whoAmI } from '../support/sessions.js';

const PASSWORD = 'a-fine-password-1';
const EVENTS = `{ auditEvents(first: 50) { edges { node {
  kind actorId impersonatorId targetUserId username address details
} } } }`;

interface Row {
  kind: string;
  actorId: string | null;
  impersonatorId: string | null;
  targetUserId: string | null;
  username: string | null;
  address: string | null;
  details: Record<string, unknown>;
}

describe('the audit log of tokens, sessions and impersonation', () => {
  let app: TestApp;
  const ids: Record<string, string> = {};
  let day: Row[] = [];
  let secret = '';
  let home: HttpClient;

  beforeAll(async () => {
    app = await createTestApp({ env: { ...CHEAP_HASHING, TRUST_PROXY: 'loopback' } });
    const em = app.database.orm.em.fork();
    const auth = createAuth(app.config);
    for (const [username, extra] of [
      ['alice', {}],
      ['root', { isStaff: true, isSuperuser: true }],
    ] as const) {
      ids[username] = String((await auth.users.createUser(em, { username, password: PASSWORD, ...extra })).id);
    }
    const from = (address: string) => ({ 'x-forwarded-for': address });
    const login = async (username: string, address: string) => {
      const client = new HttpClient(app.url);
      const { body } = await client.graphql(
        'mutation ($u: String!, $p: String!) { login(username: $u, password: $p) { id } }',
        { u: username, p: PASSWORD },
        from(address),
      );
      expect(body.errors).toBeUndefined();
      return client;
    };
    // Alice at home and at work; at work she makes a token for a deploy script, which uses it.
    home = await login('alice', '198.51.100.7');
    const work = await login('alice', '192.0.2.20');
    const created = await work.graphql<{ createAccessToken: { token: string; accessToken: { id: string } } }>(
      'mutation { createAccessToken(input: { name: "deploy" }) { token accessToken { id } } }',
      undefined,
      from('192.0.2.20'),
    );
    secret = created.body.data?.createAccessToken.token ?? '';
    const script = await new HttpClient(app.url).graphql<{ me: { username: string } }>(
      '{ me { username } }',
      undefined,
      { authorization: `Bearer ${secret}`, ...from('203.0.113.80') },
    );
    expect(script.body.data?.me.username).toBe('alice');
    // The script finds its key leaked and revokes it, with the key itself.
    const revoked = await new HttpClient(app.url).graphql(
      'mutation ($id: ID!) { revokeAccessToken(id: $id) }',
      { id: created.body.data?.createAccessToken.accessToken.id },
      { authorization: `Bearer ${secret}`, ...from('203.0.113.80') },
    );
    expect(revoked.body.errors).toBeUndefined();
    // Support: root acts as alice, ends her session at home from her list, and stops.
    const root = await login('root', '192.0.2.1');
    const acting = await root.graphql(
      'mutation ($u: ID!) { impersonate(userId: $u) { username } }',
      { u: ids.alice },
      from('192.0.2.1'),
    );
    expect(acting.body.errors).toBeUndefined();
    const listed = await root.graphql<{ mySessions: { id: string; address: string }[] }>(
      '{ mySessions { id address } }',
      undefined,
      from('192.0.2.1'),
    );
    const atHome = listed.body.data?.mySessions.find((session) => session.address === '198.51.100.7');
    const ended = await root.graphql(
      'mutation ($id: ID!) { endSession(id: $id) }',
      { id: atHome?.id },
      from('192.0.2.1'),
    );
    expect(ended.body.errors).toBeUndefined();
    const stopped = await root.graphql('mutation { stopImpersonating { username } }', undefined, from('192.0.2.1'));
    expect(stopped.body.errors).toBeUndefined();
    // Read back by root (a superuser), once the writer has caught up.
    const until = Date.now() + 15_000;
    for (;;) {
      const { body } = await root.graphql<{ auditEvents: { edges: { node: Row }[] } }>(EVENTS);
      day = body.data?.auditEvents.edges.map((edge) => edge.node) ?? [];
      if (day.some((row) => row.kind === 'IMPERSONATION_ENDED') || Date.now() > until) break;
      await sleep(25);
    }
  });
  afterAll(() => app.stop());

  it('records each step, in order, with who acted, for whom, and from where', () => {
    const alice = ids.alice ?? '';
    const root = ids.root ?? '';
    expect(
      day.map(({ kind, actorId, impersonatorId, targetUserId, address }) => [
        kind,
        actorId,
        impersonatorId,
        targetUserId,
        address,
      ]),
    ).toEqual([
      ['LOGIN', alice, null, alice, '198.51.100.7'],
      ['LOGIN', alice, null, alice, '192.0.2.20'],
      ['ACCESS_TOKEN_CREATED', alice, null, alice, '192.0.2.20'],
      ['ACCESS_TOKEN_REVOKED', alice, null, alice, '203.0.113.80'],
      ['LOGIN', root, null, root, '192.0.2.1'],
      ['IMPERSONATION_STARTED', root, null, alice, '192.0.2.1'],
      // Done as alice, by root: both are named.
      ['SESSION_ENDED', alice, root, alice, '192.0.2.1'],
      ['IMPERSONATION_ENDED', root, null, alice, '192.0.2.1'],
    ]);
    expect(day[2]?.details).toMatchObject({ name: 'deploy', scopes: null });
    // Done with the token: the row says which one.
    const tokenId = day[2]?.details.tokenId;
    expect(day[3]?.details).toEqual({ tokenId, accessTokenId: tokenId });
    expect(day[2]?.details.accessTokenId).toBeUndefined();
  });

  it('ended the session at home, and holds no token anywhere', async () => {
    expect(await whoAmI(home)).toBeNull();
    expect(secret).toMatch(/^gqa_/);
    const em = app.database.orm.em.fork();
    expect(await selectAll(em, 'SELECT id FROM gqlauth_audit_event e WHERE e::text LIKE ?', [`%${secret}%`])).toEqual(
      [],
    );
    // Only the public part of a token is kept at all: its secret half appears nowhere in the database's rows.
    const secretHalf = secret.slice(secret.lastIndexOf('_') + 1);
    expect(
      await selectOne(em, 'SELECT count(*)::int AS n FROM gqlauth_access_token t WHERE t::text LIKE ?', [
        `%${secretHalf}%`,
      ]),
    ).toEqual({ n: 0 });
    expect(await whoAmI(await loggedInClient(app.url, 'alice', PASSWORD))).toBe('alice');
  });
});
