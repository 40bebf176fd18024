/**
 * The admin API over HTTP: every operation against every kind of user, the rules that stop privilege escalation,
 * effects on open sessions, pagination and search.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createAuth } from '../../src/auth/index.js';
import { grantObjectPermission } from '../../src/auth/object-permissions.js';
import { Group } from '../../src/entities/group.js';
import { Permission } from '../../src/entities/permission.js';
import { Poll } from '../../examples/polls/models.ts';
import { User } from '../../src/entities/user.js';
import { createTestApp, type TestApp } from '../support/app.js';
import { CHEAP_HASHING } from '../support/auth.js';
import { HttpClient } from '../support/http-client.js';
import { loggedInClient, whoAmI } from '../support/sessions.js';

const KINDS = [
  'anonymous',
  'nobody',
  'direct',
  'oneGroup',
  'twoGroups',
  'notStaff',
  'objectLevel',
  'root',
  'retired',
] as const;
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
        // Django's admin lets in active staff only: every admin here is staff but notStaff, who holds the same.
        isStaff: ['direct', 'oneGroup', 'twoGroups', 'objectLevel'].includes(kind),
      });
      const user = await manager.findOneOrFail(User, created.id, { populate: ['groups', 'userPermissions'] });
      if (kind === 'direct' || kind === 'notStaff')
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
  //                        anon nobody direct 1group 2groups notStaff object root retired
  const allowedToAdmins = [U, F, 'ok', 'ok', 'ok', F, F, 'ok', U];

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
          { id: await newUser({ isSuperuser: true }) },
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

  describe('no escalation through object-level grants, and no takeover of an account that holds more', () => {
    /** A staff member holding auth.change_user, auth.view_user and auth.delete_user only: the review's attacker. */
    let changer: HttpClient;
    let changerId: string;
    const pollOf = async (question: string) => {
      const manager = em();
      const poll = manager.create(Poll, { question, pubDate: new Date() });
      await manager.flush();
      return poll.id;
    };
    const groupWithObjectGrants = async (pollId: number) => {
      const id = await newGroup();
      for (const name of ['polls.change_poll', 'polls.delete_poll'])
        await grantObjectPermission(em(), name, { groupId: Number(id) }, pollId);
      return id;
    };
    /** A user holding `perms` (model level) and `grants` (`perm key` on polls), made directly. */
    const holder = async (perms: string[], grants: string[] = []) => {
      const id = await newUser();
      const manager = em();
      const user = await manager.findOneOrFail(User, Number(id), { populate: ['userPermissions'] });
      for (const name of perms) user.userPermissions.add(await perm(name));
      await manager.flush();
      for (const grant of grants) {
        const [name = '', key = ''] = grant.split(' ');
        await grantObjectPermission(em(), name, { userId: Number(id) }, key);
      }
      return id;
    };

    beforeAll(async () => {
      const username = `changer${++counter}`;
      const manager = em();
      const created = await auth().users.createUser(manager, { username, password: PASSWORD, isStaff: true });
      const user = await manager.findOneOrFail(User, created.id, { populate: ['userPermissions'] });
      for (const name of ['auth.change_user', 'auth.view_user', 'auth.delete_user'])
        user.userPermissions.add(await perm(name));
      await manager.flush();
      changerId = String(created.id);
      changer = await loggedInClient(app.url, username, PASSWORD);
    });

    it('refuses joining a group that holds object-level grants one lacks (then deleting the poll): FORBIDDEN', async () => {
      const pollId = await pollOf('Poll two');
      const groupId = await groupWithObjectGrants(pollId);
      const join = [
        'mutation ($u: ID!, $g: ID!) { addUserToGroup(userId: $u, groupId: $g) { id } }',
        { u: changerId, g: groupId },
      ] as Operation;
      expect(
        await outcome('direct', [
          'mutation ($u: ID!, $g: ID!) { addUserToGroup(userId: $u, groupId: $g) { id } }',
          { u: await idOf('direct'), g: groupId },
        ]),
      ).toBe(F);
      const { body } = await changer.graphql(join[0], join[1]);
      expect(body.errors?.[0]?.extensions?.code).toBe(F);
      const deleted = await changer.graphql('mutation ($id: ID!) { deletePoll(id: $id) }', { id: String(pollId) });
      expect(deleted.body.errors?.[0]?.extensions?.code).toBe(F);
      expect(await em().count(Poll, { id: pollId })).toBe(1);
      expect(
        await em()
          .getConnection()
          .execute('SELECT 1 FROM auth_user_groups WHERE user_id = ? AND group_id = ?', [
            Number(changerId),
            Number(groupId),
          ]),
      ).toEqual([]);
      // Who holds those grants on that poll may hand them on; a superuser may too.
      const grantee = await holder([], [`polls.change_poll ${pollId}`, `polls.delete_poll ${pollId}`]);
      await em().nativeUpdate(User, { id: Number(grantee) }, { isStaff: true });
      const manager = em();
      const granteeUser = await manager.findOneOrFail(User, Number(grantee), { populate: ['userPermissions'] });
      granteeUser.userPermissions.add(await perm('auth.change_user'));
      await manager.flush();
      const granteeClient = await loggedInClient(app.url, granteeUser.username, PASSWORD);
      expect((await granteeClient.graphql(join[0], { u: grantee, g: groupId })).body.errors).toBeUndefined();
      expect(await outcome('root', [join[0], { u: await newUser(), g: groupId }])).toBe('ok');
    });

    it.each<[string, (id: string) => Operation]>([
      [
        'setting its password',
        (id) => ['mutation ($id: ID!) { setUserPassword(id: $id, password: "taken-over-42") }', { id }],
      ],
      [
        'changing its e-mail',
        (id) => ['mutation ($id: ID!) { updateUser(id: $id, input: { email: "me@evil.test" }) { id } }', { id }],
      ],
      [
        'changing its username',
        (id) => [
          'mutation ($id: ID!, $name: String!) { updateUser(id: $id, input: { username: $name }) { id } }',
          { id, name: `renamed${++counter}` },
        ],
      ],
      [
        'deactivating it',
        (id) => ['mutation ($id: ID!) { updateUser(id: $id, input: { isActive: false }) { id } }', { id }],
      ],
      ['deleting it', (id) => ['mutation ($id: ID!) { deleteUser(id: $id) }', { id }]],
      [
        'taking a permission from it',
        (id) => ['mutation ($id: ID!) { revokePermission(perm: "auth.view_user", userId: $id) }', { id }],
      ],
    ])(
      'refuses %s when the account holds more than the caller (model or object level); allows it otherwise',
      async (_name, make) => {
        const richer = await holder(['auth.view_user', 'auth.add_group']);
        const grantedMore = await holder(['auth.view_user'], ['polls.delete_poll 1']);
        const poorer = await holder(['auth.view_user']);
        const run = async (id: string) => {
          const [query, variables] = make(id);
          const { body } = await changer.graphql(query, variables);
          return body.errors ? String(body.errors[0]?.extensions?.code) : 'ok';
        };
        expect([await run(richer), await run(grantedMore), await run(poorer)]).toEqual([F, F, 'ok']);
        expect(await outcome('root', make(richer))).toBe('ok');
      },
    );

    it('left the richer accounts as they were: their passwords still log in', async () => {
      const id = await holder(['auth.add_group']);
      const { username, email } = await em().findOneOrFail(User, Number(id));
      await changer.graphql('mutation ($id: ID!) { setUserPassword(id: $id, password: "taken-over-42") }', { id });
      await changer.graphql('mutation ($id: ID!) { updateUser(id: $id, input: { email: "me@evil.test" }) { id } }', {
        id,
      });
      expect(await whoAmI(await loggedInClient(app.url, username, PASSWORD))).toBe(username);
      expect((await em().findOneOrFail(User, Number(id))).email).toBe(email);
    });

    it("refuses one's own password through setUserPassword: changePassword asks for the current one", async () => {
      const { body } = await changer.graphql(
        'mutation ($id: ID!) { setUserPassword(id: $id, password: "no-old-one-needed-7") }',
        { id: changerId },
      );
      expect(body.errors?.[0]?.extensions?.code).toBe(F);
      expect(body.errors?.[0]?.message).toBe(
        'Change your own password with changePassword, which asks for the current one.',
      );
      const self = await changer.graphql(
        'mutation ($id: ID!) { setUserPassword(id: $id, password: "no-old-one-needed-7") }',
        { id: await idOf('root') },
      );
      expect(self.body.errors?.[0]?.extensions?.code).toBe(F);
    });

    it("refuses changing one's own e-mail, username or active flag (the next password reset would follow)", async () => {
      const update = (client: HttpClient, id: string, input: string) =>
        client.graphql(`mutation ($id: ID!) { updateUser(id: $id, input: ${input}) { id } }`, { id });
      const codes = async (input: string) =>
        (await update(changer, changerId, input)).body.errors?.[0]?.extensions?.code;
      expect(await codes('{ email: "me@evil.test" }')).toBe(F);
      expect(await codes(`{ username: "self${++counter}" }`)).toBe(F);
      expect(await codes('{ isActive: false }')).toBe(F);
      expect(await codes('{ firstName: "Chang" }')).toBeUndefined();
      const rootId = await idOf('root');
      expect((await update(clients.root, rootId, '{ email: "root@example.com" }')).body.errors).toBeUndefined();
    });

    it('refuses deleting, or revoking from, a group that holds what the caller does not', async () => {
      const richGroup = await newGroup(['auth.view_user', 'polls.delete_poll']);
      const revoke = [
        'mutation ($g: ID!) { revokePermission(perm: "auth.view_user", groupId: $g) }',
        { g: richGroup },
      ] as Operation;
      const remove = ['mutation ($g: ID!) { deleteGroup(id: $g) }', { g: richGroup }] as Operation;
      expect([await outcome('direct', revoke), await outcome('direct', remove)]).toEqual([F, F]);
      const poorGroup = await newGroup(['auth.view_user']);
      expect(await outcome('direct', [revoke[0], { g: poorGroup }])).toBe('ok');
      expect(await outcome('direct', [remove[0], { g: poorGroup }])).toBe('ok');
      expect([await outcome('root', revoke), await outcome('root', remove)]).toEqual(['ok', 'ok']);
    });

    it.each([' 1', '1 ', '1\t', ''])(
      'refuses the object id %j: it names no object (BAD_USER_INPUT)',
      async (objectId) => {
        const { body } = await clients.root.graphql(
          'mutation ($o: ID!) { grantPermission(perm: "polls.view_poll", userId: "1", objectId: $o) }',
          { o: objectId },
        );
        expect(body.errors?.[0]?.extensions).toMatchObject({
          code: 'BAD_USER_INPUT',
          validationErrors: [{ field: 'objectId' }],
        });
      },
    );

    it('lets a holder of a permission on one object grant it on that object only', async () => {
      const pollId = await pollOf('Delegated');
      const delegate = await holder(['auth.change_user', 'auth.view_user'], [`polls.change_poll ${pollId}`]);
      await em().nativeUpdate(User, { id: Number(delegate) }, { isStaff: true });
      const { username } = await em().findOneOrFail(User, Number(delegate));
      const client = await loggedInClient(app.url, username, PASSWORD);
      const grant = (objectId: string) =>
        client.graphql(
          'mutation ($u: ID!, $o: ID!) { grantPermission(perm: "polls.change_poll", userId: $u, objectId: $o) }',
          { u: changerId, o: objectId },
        );
      expect((await grant(String(pollId))).body.data).toEqual({ grantPermission: true });
      expect((await grant(String(pollId + 1))).body.errors?.[0]?.extensions?.code).toBe(F);
      const tooLong = await grant('x'.repeat(256));
      expect(tooLong.body.errors?.[0]?.extensions).toMatchObject({
        code: 'BAD_USER_INPUT',
        validationErrors: [{ field: 'objectId' }],
      });
    });
  });

  it('takes away a permission on the very next request of an open session (group membership removed)', async () => {
    const username = `member${++counter}`;
    const id = String((await auth().users.createUser(em(), { username, password: PASSWORD, isStaff: true })).id);
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

  it('answers a username already taken with one code, username_taken, from createUser and updateUser alike', async () => {
    const issues = async (query: string, variables: Record<string, unknown>) =>
      (await clients.root.graphql(query, variables)).body.errors?.[0]?.extensions?.validationErrors;
    const taken = [{ code: 'username_taken', message: 'A user with that username already exists.', field: 'username' }];
    expect(await issues('mutation { createUser(input: { username: "nobody" }) { id } }', {})).toEqual(taken);
    expect(
      await issues('mutation ($id: ID!) { updateUser(id: $id, input: { username: "nobody" }) { id } }', {
        id: await newUser(),
      }),
    ).toEqual(taken);
  });
});
