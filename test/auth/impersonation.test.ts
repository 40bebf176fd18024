/**
 * Impersonation (django-hijack's model) over real HTTP: the full cycle (a new session id at each step, `me` saying
 * who impersonates, the real user back after), each refusal with its stable code, what is refused while
 * impersonating, and the impersonation ending at the next request once the real user loses the right.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { describeEachStore } from '../support/session-stores.js';
import { createAuth } from '../../src/auth/index.js';
import { buildSchema } from '../../src/graphql/schema.js';
import type { GraphQLContext } from '../../src/graphql/context.js';
import { currentRequest } from '../../src/logger.js';
import { Permission } from '../../src/entities/permission.js';
import { User } from '../../src/entities/user.js';
import { createTestApp, type TestApp } from '../support/app.js';
import { CHEAP_HASHING } from '../support/auth.js';
import { HttpClient } from '../support/http-client.js';
import { sessionIdOf, whoAmI } from '../support/sessions.js';

const PASSWORD = 'hijack-password-1';
const LOGIN = 'mutation ($u: String!, $p: String!) { login(username: $u, password: $p) { id } }';
const IMPERSONATE = 'mutation ($u: ID!) { impersonate(userId: $u) { username } }';
const STOP = 'mutation { stopImpersonating { username } }';
const ME = '{ me { username impersonatedBy { id username } } }';
const CHANGE_PASSWORD = 'mutation ($o: String!, $n: String!) { changePassword(oldPassword: $o, newPassword: $n) }';

type Body = { data?: unknown; errors?: { extensions?: Record<string, unknown> }[] };
const codeOf = (body: Body) => body.errors?.[0]?.extensions?.code;

describeEachStore('impersonation', (sessionStore) => {
  let app: TestApp;
  const ids: Record<string, string> = {};
  let counter = 0;

  const em = () => app.database.orm.em.fork();

  /** A new user; staff with `perms` granted directly. */
  async function newUser(
    username: string,
    { staff = false, superuser = false, active = true, perms = [] as string[] } = {},
  ): Promise<string> {
    const manager = em();
    const created = await createAuth(app.config).users.createUser(manager, {
      username,
      password: PASSWORD,
      isStaff: staff,
      isSuperuser: superuser,
      isActive: active,
    });
    const user = await manager.findOneOrFail(User, created.id, { populate: ['userPermissions'] });
    for (const name of perms) {
      const [appLabel, codename] = name.split('.');
      user.userPermissions.add(
        await manager.findOneOrFail(Permission, {
          codename: codename ?? '',
          contentType: { appLabel: appLabel ?? '' },
        }),
      );
    }
    await manager.flush();
    ids[username] = String(created.id);
    return ids[username];
  }

  async function browser(username: string): Promise<HttpClient> {
    const client = new HttpClient(app.url);
    const { body } = await client.graphql(LOGIN, { u: username, p: PASSWORD });
    if (body.errors) throw new Error(JSON.stringify(body.errors));
    return client;
  }

  /** A fresh support agent: staff holding auth.impersonate_user (and `perms`), logged in. */
  async function support(perms: string[] = []): Promise<{ client: HttpClient; id: string; name: string }> {
    const name = `support${++counter}`;
    const id = await newUser(name, { staff: true, perms: ['auth.impersonate_user', ...perms] });
    return { client: await browser(name), id, name };
  }

  const impersonate = async (client: HttpClient, username: string) =>
    (await client.graphql(IMPERSONATE, { u: ids[username] ?? username })).body as Body;
  const me = async (client: HttpClient) =>
    (await client.graphql<{ me: { username: string; impersonatedBy: { username: string } | null } | null }>(ME)).body
      .data?.me ?? null;

  beforeAll(async () => {
    // One field more: who the request is attributed to, as the audit log reads it (the request's scope).
    const schema = buildSchema({
      typeDefs: ['extend type Query { attributedTo: String @public }'],
      resolvers: [
        {
          Query: {
            attributedTo: async (_parent: unknown, _args: unknown, { auth }: GraphQLContext) => {
              await auth.user();
              const scope = currentRequest();
              return `${scope?.userId ?? '-'}/${scope?.impersonatorId ?? '-'}`;
            },
          },
        },
      ],
    });
    app = await createTestApp({
      sessionStore,
      env: { ...CHEAP_HASHING, EVENT_LISTENERS: './test/fixtures/extensions/recording-listener.ts' },
      schema,
    });
    await newUser('alice');
    await newUser('bob');
    await newUser('root', { superuser: true });
    await newUser('root2', { superuser: true });
    await newUser('retired', { active: false });
    await newUser('staffer', { staff: true });
    await newUser('outsider', { perms: ['auth.impersonate_user'] });
    await newUser('boss', { staff: true, perms: ['auth.change_user'] });
  });
  afterAll(() => app.stop());

  /** The events recorded since the last call (test/fixtures/extensions/recording-listener.ts). */
  const events = () => {
    const list = ((globalThis as Record<string, unknown>).__recordedAuthEvents ?? []) as unknown[];
    return list.splice(0);
  };

  it('acts as the user under a new session id, says so in me, and restores the real user under another', async () => {
    const { client, id, name } = await support();
    const before = await sessionIdOf(client, app.url);
    events();
    expect(await impersonate(client, 'alice')).toEqual({ data: { impersonate: { username: 'alice' } } });
    expect(events()).toEqual([{ event: 'impersonationStarted', actorId: Number(id), userId: Number(ids.alice) }]);
    const during = await sessionIdOf(client, app.url);
    expect(during).not.toBe(before);
    expect(await me(client)).toEqual({ username: 'alice', impersonatedBy: { id, username: name } });
    const sessions = await client.graphql<{ mySessions: { current: boolean; impersonated: boolean }[] }>(
      '{ mySessions { current impersonated } }',
    );
    expect(sessions.body.data?.mySessions).toEqual([{ current: true, impersonated: true }]);
    // Every request under impersonation is attributed to both.
    const attributed = async () =>
      (await client.graphql<{ attributedTo: string }>('{ attributedTo }')).body.data?.attributedTo;
    expect(await attributed()).toBe(`${ids.alice}/${id}`);
    // The cookie of the session before is no one's now.
    const old = new HttpClient(app.url);
    await old.jar.setCookie(`sessionid=${encodeURIComponent(`s:${before}`)}`, app.url);
    expect(await whoAmI(old)).toBeNull();

    expect((await client.graphql(STOP)).body).toEqual({ data: { stopImpersonating: { username: name } } });
    expect(events()).toEqual([{ event: 'impersonationEnded', actorId: Number(id), userId: Number(ids.alice) }]);
    const after = await sessionIdOf(client, app.url);
    expect(after).not.toBe(during);
    expect(after).not.toBe(before);
    expect(await me(client)).toEqual({ username: name, impersonatedBy: null });
    expect(await attributed()).toBe(`${id}/-`);
    // Nothing of the impersonation is left in the store.
    expect(await app.sessions.count({ userId: Number(ids.alice) })).toBe(0);
    expect(codeOf((await client.graphql(STOP)).body)).toBe('NOT_IMPERSONATING');
  });

  it("shows the impersonation in the user's own session list, where they may end it", async () => {
    const { client, id } = await support();
    await impersonate(client, 'bob');
    const bob = await browser('bob');
    const listed = await bob.graphql<{ mySessions: { id: string; current: boolean; impersonated: boolean }[] }>(
      '{ mySessions { id current impersonated } }',
    );
    const theirs = listed.body.data?.mySessions.find((session) => session.impersonated);
    expect(theirs?.current).toBe(false);
    events();
    const ended = await bob.graphql('mutation ($id: ID!) { endSession(id: $id) }', { id: theirs?.id });
    expect(ended.body).toEqual({ data: { endSession: true } });
    // Ended by the user it acted as: the impersonation ended too, and the audit log says so.
    expect(events()).toEqual([
      { event: 'impersonationEnded', actorId: Number(id), userId: Number(ids.bob) },
      { event: 'sessionEnded', actorId: Number(ids.bob), userId: Number(ids.bob) },
    ]);
    expect(await me(client)).toBeNull();
    // A logout while impersonating ends the impersonation too.
    const again = await support();
    await impersonate(again.client, 'bob');
    events();
    await again.client.graphql('mutation { logout }');
    expect(events()).toEqual([{ event: 'impersonationEnded', actorId: Number(again.id), userId: Number(ids.bob) }]);
    expect(id).not.toBe(again.id);
  });

  it('ends the impersonation, recorded, when someone logs in in the impersonated session', async () => {
    const { client, id } = await support();
    await impersonate(client, 'bob');
    events();
    const { body } = await client.graphql(LOGIN, { u: 'alice', p: PASSWORD });
    expect(body.errors).toBeUndefined();
    expect(events()).toEqual([{ event: 'impersonationEnded', actorId: Number(id), userId: Number(ids.bob) }]);
    expect(await me(client)).toEqual({ username: 'alice', impersonatedBy: null });
  });

  it('lets a superuser impersonate anyone active, a superuser too', async () => {
    const root = await browser('root');
    expect(await impersonate(root, 'root2')).toEqual({ data: { impersonate: { username: 'root2' } } });
    expect((await me(root))?.impersonatedBy?.username).toBe('root');
  });

  it('refuses each case with its stable code', async () => {
    const { client, id } = await support();
    const refused = async (client: HttpClient, target: string) => {
      const body = await impersonate(client, target);
      return [codeOf(body), body.errors?.[0]?.extensions?.reason];
    };
    expect(await refused(client, 'root')).toEqual(['IMPERSONATION_REFUSED', 'SUPERUSER']);
    expect(await refused(client, 'retired')).toEqual(['IMPERSONATION_REFUSED', 'INACTIVE']);
    expect(await refused(client, id)).toEqual(['IMPERSONATION_REFUSED', 'SELF']);
    expect(await refused(client, 'boss')).toEqual(['IMPERSONATION_REFUSED', 'HOLDS_MORE']);
    expect(await refused(client, '999999')).toEqual(['NOT_FOUND', undefined]);
    expect(await refused(client, 'nonsense')).toEqual(['BAD_USER_INPUT', undefined]);
    // Without the right: staff without the permission, or the permission without staff. The target's existence is
    // not said.
    for (const username of ['staffer', 'outsider', 'alice']) {
      const other = await browser(username);
      expect(await refused(other, 'bob')).toEqual(['FORBIDDEN', undefined]);
      expect(await refused(other, '999999')).toEqual(['FORBIDDEN', undefined]);
    }
    expect(await refused(new HttpClient(app.url), 'bob')).toEqual(['UNAUTHENTICATED', undefined]);
    // Each refusal left the session as it was.
    expect(await me(client)).toMatchObject({ impersonatedBy: null });
  });

  it('refuses a password change and a second impersonation while impersonating', async () => {
    const { client } = await support();
    await impersonate(client, 'bob');
    expect(codeOf(await impersonate(client, 'alice'))).toBe('IMPERSONATING');
    const change = await client.graphql(CHANGE_PASSWORD, { o: PASSWORD, n: 'a-new-password-9' });
    expect(codeOf(change.body)).toBe('IMPERSONATING');
    // Still bob's password, still impersonating bob.
    expect(await whoAmI(await browser('bob'))).toBe('bob');
    expect((await me(client))?.username).toBe('bob');
  });

  it("refuses to create an access token while impersonating: no key to bob's account leaves with support", async () => {
    const { client } = await support();
    await impersonate(client, 'bob');
    const created = await client.graphql(
      'mutation { createAccessToken(input: { name: "keep" }) { token accessToken { id } } }',
    );
    expect(codeOf(created.body)).toBe('IMPERSONATING');
    const bob = await browser('bob');
    const { body } = await bob.graphql<{ myAccessTokens: unknown[] }>('{ myAccessTokens { id } }');
    expect(body.data?.myAccessTokens).toEqual([]);
  });

  describe('ends at the next request once the real user loses the right', () => {
    const root = () => browser('root');

    it('when the permission is revoked', async () => {
      const { client, id } = await support();
      await impersonate(client, 'alice');
      const revoke = await (
        await root()
      ).graphql('mutation ($u: ID!) { revokePermission(perm: "auth.impersonate_user", userId: $u) }', { u: id });
      expect(revoke.body).toEqual({ data: { revokePermission: true } });
      events();
      expect(await me(client)).toBeNull();
      expect(events()).toEqual([{ event: 'impersonationEnded', actorId: Number(id), userId: Number(ids.alice) }]);
      expect(await sessionIdOf(client, app.url)).toBeUndefined();
    });

    it('and attributes the rest of that request to nobody, not to the user it named', async () => {
      const { client, id } = await support();
      await impersonate(client, 'alice');
      await (
        await root()
      ).graphql('mutation ($u: ID!) { revokePermission(perm: "auth.impersonate_user", userId: $u) }', { u: id });
      const { body } = await client.graphql<{ attributedTo: string }>('{ attributedTo }');
      expect(body.data?.attributedTo).toBe('-/-');
    });

    it('when the real user is deactivated', async () => {
      const { client, id } = await support();
      await impersonate(client, 'alice');
      await (
        await root()
      ).graphql('mutation ($u: ID!) { updateUser(id: $u, input: { isActive: false }) { id } }', { u: id });
      expect(await me(client)).toBeNull();
    });

    it("when the real user's password changes", async () => {
      const { client, id } = await support();
      await impersonate(client, 'alice');
      const set = await (
        await root()
      ).graphql('mutation ($u: ID!) { setUserPassword(id: $u, password: "another-password-7") }', { u: id });
      expect(set.body).toEqual({ data: { setUserPassword: true } });
      expect(await me(client)).toBeNull();
    });

    it('when the staff flag is taken away', async () => {
      const { client, id } = await support();
      await impersonate(client, 'bob');
      await (
        await root()
      ).graphql('mutation ($u: ID!) { updateUser(id: $u, input: { isStaff: false }) { id } }', { u: id });
      expect(await me(client)).toBeNull();
    });

    it('when the real user is no longer a superuser, and the impersonated user is one', async () => {
      // Staff with the permission too: what is lost is the superuser flag alone.
      const id = await newUser(`demoted${++counter}`, {
        superuser: true,
        staff: true,
        perms: ['auth.impersonate_user'],
      });
      const client = await browser(`demoted${counter}`);
      expect(await impersonate(client, 'root2')).toEqual({ data: { impersonate: { username: 'root2' } } });
      await (
        await root()
      ).graphql('mutation ($u: ID!) { updateUser(id: $u, input: { isSuperuser: false }) { id } }', { u: id });
      expect(await me(client)).toBeNull();
    });

    it('when the impersonated user is granted a permission the real user lacks', async () => {
      const { client, id } = await support();
      const target = `grown${++counter}`;
      const targetId = await newUser(target);
      expect(await impersonate(client, target)).toEqual({ data: { impersonate: { username: target } } });
      const grant = await (
        await root()
      ).graphql('mutation ($u: ID!) { grantPermission(perm: "auth.delete_user", userId: $u) }', { u: targetId });
      expect(grant.body).toEqual({ data: { grantPermission: true } });
      events();
      // Impersonating them now would be refused (HOLDS_MORE): going on would hand the support agent auth.delete_user.
      expect(await me(client)).toBeNull();
      expect(events()).toEqual([{ event: 'impersonationEnded', actorId: Number(id), userId: Number(targetId) }]);
    });

    it('when the real user loses a permission the impersonated user holds', async () => {
      const { client, id } = await support(['auth.view_user']);
      const target = `viewer${++counter}`;
      await newUser(target, { perms: ['auth.view_user'] });
      expect(await impersonate(client, target)).toEqual({ data: { impersonate: { username: target } } });
      const revoke = await (
        await root()
      ).graphql('mutation ($u: ID!) { revokePermission(perm: "auth.view_user", userId: $u) }', { u: id });
      expect(revoke.body).toEqual({ data: { revokePermission: true } });
      expect(await me(client)).toBeNull();
    });

    it('but goes on while the real user keeps it', async () => {
      const { client } = await support();
      await impersonate(client, 'bob');
      for (let i = 0; i < 3; i++) expect((await me(client))?.username).toBe('bob');
    });
  });
});
