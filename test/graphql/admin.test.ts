/**
 * The admin API over HTTP: every operation against every kind of user, the rules that stop privilege escalation,
 * effects on open sessions, pagination and search.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createAuth } from '../../src/auth/index.js';
import { grantObjectPermission } from '../../src/auth/object-permissions.js';
import { Group } from '../../src/entities/group.js';
import { Permission } from '../../src/entities/permission.js';
import { User } from '../../src/entities/user.js';
import { createTestApp, type TestApp } from '../support/app.js';
import { CHEAP_HASHING } from '../support/auth.js';
import { HttpClient } from '../support/http-client.js';
import { loggedInClient, whoAmI } from '../support/sessions.js';

const KINDS = ['anonymous', 'nobody', 'direct', 'oneGroup', 'twoGroups', 'objectLevel', 'root', 'retired'] as const;
type Kind = (typeof KINDS)[number];
const PASSWORD = 'admin-password-1';
const USER_PERMS = ['auth.view_user', 'auth.add_user', 'auth.change_user', 'auth.delete_user', 'auth.view_permission'];
const GROUP_PERMS = ['auth.view_group', 'auth.add_group', 'auth.change_group', 'auth.delete_group'];
const U = 'UNAUTHENTICATED';
const F = 'FORBIDDEN';

describe('the admin API', () => {
  let app: TestApp;
  const clients = {} as Record<Kind, HttpClient>;
  let counter = 0;

  const em = () => app.database.orm.em.fork();
  const auth = () => createAuth(app.config);
  const perm = (name: string) => {
    const [appLabel, codename] = name.split('.');
    return em().findOneOrFail(Permission, { codename: codename ?? '', contentType: { appLabel: appLabel ?? '' } });
  };
  const idOf = async (username: string) => String((await em().findOneOrFail(User, { username })).id);
  const newUser = async (extra: Partial<{ isSuperuser: boolean }> = {}) =>
    String((await auth().users.createUser(em(), { username: `target${++counter}`, password: PASSWORD, ...extra })).id);
  const newGroup = async (perms: string[] = []) => {
    const manager = em();
    const group = manager.create(Group, { name: `group${++counter}` });
    for (const name of perms) group.permissions.add(await perm(name));
    await manager.flush();
    return String(group.id);
  };

  beforeAll(async () => {
    app = await createTestApp({ env: CHEAP_HASHING });
    const manager = em();
    const group = async (name: string, perms: string[]) => {
      const made = manager.create(Group, { name });
      for (const name of perms) made.permissions.add(await perm(name));
      return made;
    };
    const admins = await group('Admins', [...USER_PERMS, ...GROUP_PERMS]);
    const userAdmins = await group('UserAdmins', USER_PERMS);
    const groupAdmins = await group('GroupAdmins', GROUP_PERMS);
    await manager.flush();
    for (const kind of KINDS.slice(1)) {
      const created = await auth().users.createUser(manager, {
        username: kind,
        email: `${kind}@example.com`,
        password: PASSWORD,
        isSuperuser: kind === 'root' || kind === 'retired',
      });
      const user = await manager.findOneOrFail(User, created.id, { populate: ['groups', 'userPermissions'] });
      if (kind === 'direct')
        for (const name of [...USER_PERMS, ...GROUP_PERMS]) user.userPermissions.add(await perm(name));
      if (kind === 'oneGroup') user.groups.add(admins);
      if (kind === 'twoGroups') user.groups.add(userAdmins, groupAdmins);
    }
    await manager.flush();
    // An object-level grant gives nothing at the model level that the admin API asks for.
    for (const name of [...USER_PERMS, ...GROUP_PERMS])
      await grantObjectPermission(manager, name, { userId: Number(await idOf('objectLevel')) }, await idOf('nobody'));
    clients.anonymous = new HttpClient(app.url);
    for (const kind of KINDS.slice(1)) clients[kind] = await loggedInClient(app.url, kind, PASSWORD);
    await em().nativeUpdate(User, { username: 'retired' }, { isActive: false });
  });
  afterAll(() => app.stop());

  type Operation = [query: string, variables: Record<string, unknown>];
  const outcome = async (kind: Kind, [query, variables]: Operation) => {
    const { body } = await clients[kind].graphql(query, variables);
    return body.errors ? String(body.errors[0]?.extensions?.code) : 'ok';
  };
  const allowedToAdmins = [U, F, 'ok', 'ok', 'ok', F, 'ok', U];

  const operations: [string, () => Promise<Operation> | Operation, string[]][] = [
    ['user', async () => ['query ($id: ID!) { user(id: $id) { id } }', { id: await idOf('nobody') }], allowedToAdmins],
    ['users', () => ['{ users { totalCount } }', {}], allowedToAdmins],
    ['groups', () => ['{ groups { name permissions } }', {}], allowedToAdmins],
    ['permissions', () => ['{ permissions { key } }', {}], allowedToAdmins],
    [
      'createUser',
      () => ['mutation ($u: String!) { createUser(input: { username: $u }) { id } }', { u: `made${++counter}` }],
      allowedToAdmins,
    ],
    [
      'updateUser',
      async () => [
        'mutation ($id: ID!) { updateUser(id: $id, input: { firstName: "Ann" }) { id } }',
        { id: await newUser() },
      ],
      allowedToAdmins,
    ],
    [
      'setUserPassword',
      async () => [
        'mutation ($id: ID!) { setUserPassword(id: $id, password: "a-new-password-42") }',
        { id: await newUser() },
      ],
      allowedToAdmins,
    ],
    [
      'deleteUser',
      async () => ['mutation ($id: ID!) { deleteUser(id: $id) }', { id: await newUser() }],
      allowedToAdmins,
    ],
    [
      'createGroup',
      () => [
        'mutation ($n: String!) { createGroup(name: $n, permissions: ["auth.view_user"]) { id } }',
        { n: `g${++counter}` },
      ],
      allowedToAdmins,
    ],
    [
      'deleteGroup',
      async () => ['mutation ($id: ID!) { deleteGroup(id: $id) }', { id: await newGroup() }],
      allowedToAdmins,
    ],
    [
      'addUserToGroup',
      async () => [
        'mutation ($u: ID!, $g: ID!) { addUserToGroup(userId: $u, groupId: $g) { id } }',
        { u: await newUser(), g: await newGroup(['auth.view_user']) },
      ],
      allowedToAdmins,
    ],
    [
      'removeUserFromGroup',
      async () => [
        'mutation ($u: ID!, $g: ID!) { removeUserFromGroup(userId: $u, groupId: $g) { id } }',
        { u: await newUser(), g: await newGroup() },
      ],
      allowedToAdmins,
    ],
    [
      'grantPermission (user)',
      async () => [
        'mutation ($u: ID!) { grantPermission(perm: "auth.view_user", userId: $u) }',
        { u: await newUser() },
      ],
      allowedToAdmins,
    ],
    [
      'grantPermission (group)',
      async () => [
        'mutation ($g: ID!) { grantPermission(perm: "auth.view_group", groupId: $g) }',
        { g: await newGroup() },
      ],
      allowedToAdmins,
    ],
    [
      'revokePermission (object)',
      async () => [
        'mutation ($u: ID!) { revokePermission(perm: "auth.view_user", userId: $u, objectId: "1") }',
        { u: await newUser() },
      ],
      allowedToAdmins,
    ],
  ];

  it('answers every operation for every kind of user as the matrix says: 0 mismatches', async () => {
    const mismatches: string[] = [];
    for (const [name, make, expected] of operations) {
      for (const [index, kind] of KINDS.entries()) {
        const got = await outcome(kind, await make());
        if (got !== expected[index]) mismatches.push(`${name} as ${kind}: expected ${expected[index]}, got ${got}`);
      }
    }
    expect(mismatches).toEqual([]);
  });

  describe('nobody raises privileges through an input meant for something else', () => {
    it.each<[string, (caller: Kind) => Promise<Operation>]>([
      [
        'making a superuser',
        () => Promise.resolve(['mutation { createUser(input: { username: "sneaky", isSuperuser: true }) { id } }', {}]),
      ],
      [
        'making a staff member',
        () => Promise.resolve(['mutation { createUser(input: { username: "sneaky2", isStaff: true }) { id } }', {}]),
      ],
      [
        'promoting oneself',
        async (caller) => [
          'mutation ($id: ID!) { updateUser(id: $id, input: { isSuperuser: true }) { id } }',
          { id: await idOf(caller) },
        ],
      ],
      [
        "changing a superuser's e-mail (and so its next password reset)",
        async () => [
          'mutation ($id: ID!) { updateUser(id: $id, input: { email: "me@evil.test" }) { id } }',
          { id: await idOf('root') },
        ],
      ],
      [
        "setting a superuser's password",
        async () => [
          'mutation ($id: ID!) { setUserPassword(id: $id, password: "a-new-password-42") }',
          { id: await idOf('root') },
        ],
      ],
      [
        'deleting a superuser',
        async () => ['mutation ($id: ID!) { deleteUser(id: $id) }', { id: await newUser({ isSuperuser: true }) }],
      ],
      [
        'granting oneself a permission one lacks',
        async (caller) => [
          'mutation ($id: ID!) { grantPermission(perm: "polls.delete_poll", userId: $id) }',
          { id: await idOf(caller) },
        ],
      ],
      [
        'joining a group with permissions one lacks',
        async (caller) => [
          'mutation ($u: ID!, $g: ID!) { addUserToGroup(userId: $u, groupId: $g) { id } }',
          { u: await idOf(caller), g: await newGroup(['polls.delete_poll']) },
        ],
      ],
      [
        'creating a group with permissions one lacks',
        () =>
          Promise.resolve([
            'mutation { createGroup(name: "Escalators", permissions: ["polls.delete_poll"]) { id } }',
            {},
          ]),
      ],
      [
        'granting on one object a permission one lacks',
        async (caller) => [
          'mutation ($id: ID!) { grantPermission(perm: "polls.change_poll", userId: $id, objectId: "1") }',
          { id: await idOf(caller) },
        ],
      ],
    ])('refuses %s (FORBIDDEN), and a superuser may', async (_name, make) => {
      expect(await outcome('direct', await make('direct'))).toBe(F);
      expect(await outcome('root', await make('root'))).toBe('ok');
    });

    it('left no trace of the refused attempts', async () => {
      const direct = await em().findOneOrFail(User, { username: 'direct' });
      expect(direct.isSuperuser).toBe(false);
      expect(await em().count(User, { username: { $in: ['sneaky', 'sneaky2'] }, isSuperuser: true })).toBe(1); // root's
      const { body } = await clients.direct.graphql<{ me: { permissions: string[] } }>('{ me { permissions } }');
      expect(body.data?.me.permissions.filter((name) => name.startsWith('polls.'))).toEqual([]);
    });
  });

  it('takes away a permission on the very next request of an open session (group membership removed)', async () => {
    const username = `member${++counter}`;
    const id = String((await auth().users.createUser(em(), { username, password: PASSWORD })).id);
    const viewers = await newGroup(['auth.view_user']);
    expect(
      await outcome('root', [
        'mutation ($u: ID!, $g: ID!) { addUserToGroup(userId: $u, groupId: $g) { id } }',
        { u: id, g: viewers },
      ]),
    ).toBe('ok');
    const member = await loggedInClient(app.url, username, PASSWORD);
    const ask = () => member.graphql('{ users(first: 1) { totalCount } }');
    expect((await ask()).body.errors).toBeUndefined();
    await outcome('root', [
      'mutation ($u: ID!, $g: ID!) { removeUserFromGroup(userId: $u, groupId: $g) { id } }',
      { u: id, g: viewers },
    ]);
    expect((await ask()).body.errors?.[0]?.extensions?.code).toBe(F);
  });

  it("setUserPassword ends that user's sessions; deactivating a user ends them on their next request", async () => {
    const username = `victim${++counter}`;
    const id = String((await auth().users.createUser(em(), { username, password: PASSWORD })).id);
    const victim = await loggedInClient(app.url, username, PASSWORD);
    expect(
      await outcome('direct', [
        'mutation ($id: ID!) { setUserPassword(id: $id, password: "brand-new-secret-77") }',
        { id },
      ]),
    ).toBe('ok');
    expect(await whoAmI(victim)).toBeNull();
    const again = await loggedInClient(app.url, username, 'brand-new-secret-77');
    expect(
      await outcome('direct', [
        'mutation ($id: ID!) { updateUser(id: $id, input: { isActive: false }) { id } }',
        { id },
      ]),
    ).toBe('ok');
    expect(await whoAmI(again)).toBeNull();
  });

  it('pages through users with a cursor, and searches username, e-mail and names', async () => {
    const manager = em();
    for (let index = 0; index < 7; index += 1)
      await auth().users.createUser(manager, {
        username: `pager${index}`,
        email: `p${index}@paging.test`,
        password: null,
      });
    const page = (after?: string) =>
      clients.root.graphql<{
        users: {
          totalCount: number;
          pageInfo: { hasNextPage: boolean; endCursor: string | null };
          edges: { node: { username: string } }[];
        };
      }>(
        'query ($after: String) { users(search: "PAGING.test", first: 3, after: $after) { totalCount pageInfo { hasNextPage endCursor } edges { node { username } } } }',
        {
          after,
        },
      );
    const seen: string[] = [];
    let after: string | undefined;
    for (;;) {
      const { body } = await page(after);
      const users = body.data?.users;
      expect(users?.totalCount).toBe(7);
      seen.push(...(users?.edges.map((edge) => edge.node.username) ?? []));
      if (!users?.pageInfo.hasNextPage) break;
      after = users.pageInfo.endCursor ?? undefined;
    }
    expect(seen).toEqual(['pager0', 'pager1', 'pager2', 'pager3', 'pager4', 'pager5', 'pager6']);
    // LIKE wildcards in a search match themselves.
    expect(
      (await clients.root.graphql<{ users: { totalCount: number } }>('{ users(search: "%") { totalCount } }')).body.data
        ?.users.totalCount,
    ).toBe(0);
    const tooMany = await clients.root.graphql('{ users(first: 1000) { totalCount } }');
    expect(tooMany.body.errors?.[0]?.extensions).toMatchObject({
      code: 'BAD_USER_INPUT',
      validationErrors: [{ field: 'first' }],
    });
  });

  it('validates input: BAD_USER_INPUT naming each bad field, nothing written', async () => {
    const before = await em().count(User, {});
    const { body } = await clients.root.graphql(
      'mutation { createUser(input: { username: "bad name!", email: "not-an-address", password: "123" }) { id } }',
    );
    expect(body.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    const fields = (body.errors?.[0]?.extensions?.validationErrors as { field?: string }[]).map((issue) => issue.field);
    expect(new Set(fields)).toEqual(new Set(['username', 'email', 'password']));
    expect(await em().count(User, {})).toBe(before);
    const unknown = await clients.root.graphql('mutation { createGroup(name: "X", permissions: ["auth.fly"]) { id } }');
    expect(unknown.body.errors?.[0]?.extensions).toMatchObject({
      code: 'BAD_USER_INPUT',
      validationErrors: [{ code: 'unknown_permission', field: 'permissions[0]' }],
    });
    const both = await clients.root.graphql(
      'mutation { grantPermission(perm: "auth.view_user", userId: "1", groupId: "1") }',
    );
    expect(both.body.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    const missing = await clients.root.graphql('mutation { deleteUser(id: "99999") }');
    expect(missing.body.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
  });
});
