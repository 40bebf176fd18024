/**
 * Django's permission semantics, as a matrix: no permissions, direct, via one group, via two groups,
 * active superuser, inactive superuser, inactive user, anonymous. And the cost: one query per user per request.
 */
import { ANONYMOUS_USER } from '../../src/auth/anonymous.js';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { User } from '../../src/entities/user.js';
import { Permission } from '../../src/entities/permission.js';
import { createAuthFixture, type AuthFixture } from '../support/auth.js';

class Rollback extends Error {}

describe('permissions', () => {
  let fixture: AuthFixture;
  const users: Record<string, User> = {};

  beforeAll(async () => {
    fixture = await createAuthFixture();
    const em = fixture.em();
    const create = async (username: string, extra: Partial<{ isSuperuser: boolean; isActive: boolean }> = {}) => {
      users[username] = await fixture.auth.users.createUser(em, { username, ...extra });
      return users[username];
    };
    const editors = await fixture.group('editors', ['auth.add_user', 'auth.change_user']);
    const viewers = await fixture.group('viewers', ['auth.view_user', 'auth.change_user']);
    await create('nobody');
    const direct = await create('direct');
    direct.userPermissions.add(em.getReference(Permission, (await fixture.permission('auth.view_group')).id));
    (await create('oneGroup')).groups.add(editors);
    const twoGroups = await create('twoGroups');
    twoGroups.groups.add(editors, viewers);
    twoGroups.userPermissions.add(em.getReference(Permission, (await fixture.permission('auth.view_group')).id));
    await create('superuser', { isSuperuser: true });
    (await create('inactiveSuperuser', { isSuperuser: true, isActive: false })).groups.add(editors);
    (await create('inactive', { isActive: false })).groups.add(editors);
    await em.flush();
  });
  afterAll(() => fixture.close());

  const everyPermissionOfAuth = [
    'auth.add_group',
    'auth.add_permission',
    'auth.add_user',
    'auth.change_group',
    'auth.change_permission',
    'auth.change_user',
    'auth.delete_group',
    'auth.delete_permission',
    'auth.delete_user',
    'auth.view_group',
    'auth.view_permission',
    'auth.view_user',
  ];

  it.each([
    ['nobody', [], [], []],
    ['direct', ['auth.view_group'], [], ['auth.view_group']],
    ['oneGroup', [], ['auth.add_user', 'auth.change_user'], ['auth.add_user', 'auth.change_user']],
    [
      'twoGroups',
      ['auth.view_group'],
      ['auth.add_user', 'auth.change_user', 'auth.view_user'],
      ['auth.add_user', 'auth.change_user', 'auth.view_group', 'auth.view_user'],
    ],
    ['inactiveSuperuser', [], [], []],
    ['inactive', [], [], []],
  ])('%s: direct %j, through groups %j, in all %j', async (username, direct, viaGroups, all) => {
    const checker = fixture.auth.permissions(fixture.em());
    const user = users[username] ?? null;
    expect([...(await checker.getUserPermissions(user))].sort()).toEqual(direct);
    expect([...(await checker.getGroupPermissions(user))].sort()).toEqual(viaGroups);
    expect([...(await checker.getAllPermissions(user))].sort()).toEqual(all);
    for (const perm of everyPermissionOfAuth) {
      expect([perm, await checker.hasPerm(user, perm)]).toEqual([perm, all.includes(perm)]);
    }
  });

  const permissionCount = () => fixture.em().count(Permission, {});

  it('gives an active superuser every permission, even one that does not exist', async () => {
    const checker = fixture.auth.permissions(fixture.em());
    const superuser = users.superuser ?? null;
    const all = [...(await checker.getAllPermissions(superuser))];
    expect(all).toEqual(expect.arrayContaining([...everyPermissionOfAuth, 'contenttypes.view_contenttype']));
    expect(all).toHaveLength(await permissionCount());
    expect(await checker.hasPerm(superuser, 'polls.anything')).toBe(true);
    expect(await checker.hasPerms(superuser, ['a.b', 'c.d'])).toBe(true);
    expect(await checker.hasModulePerms(superuser, 'anything')).toBe(true);
  });

  it('gives an active superuser every permission in getUserPermissions and getGroupPermissions too, as Django', async () => {
    const checker = fixture.auth.permissions(fixture.em());
    const superuser = users.superuser ?? null;
    expect((await checker.getUserPermissions(superuser)).size).toBe(await permissionCount());
    expect((await checker.getGroupPermissions(superuser)).size).toBe(await permissionCount());
  });

  it('sees a grant made earlier in the same, uncommitted transaction (and does not deadlock on PGlite)', async () => {
    // Looked up first: inside the transaction, every query must go through its EntityManager.
    const deleteUser = (await fixture.permission('auth.delete_user')).id;
    await fixture.database.orm.em
      .fork()
      .transactional(async (em) => {
        const user = await em.findOneOrFail(User, { username: 'nobody' });
        user.userPermissions.add(em.getReference(Permission, deleteUser));
        await em.flush();
        expect(await fixture.auth.permissions(em).hasPerm(user, 'auth.delete_user')).toBe(true);
        // Roll back, so the matrix above keeps its meaning.
        throw new Rollback();
      })
      .catch((error: unknown) => {
        if (!(error instanceof Rollback)) throw error;
      });
    expect(await fixture.auth.permissions(fixture.em()).hasPerm(users.nobody ?? null, 'auth.delete_user')).toBe(false);
  });

  it('gives anonymous users nothing', async () => {
    const checker = fixture.auth.permissions(fixture.em());
    expect([...(await checker.getAllPermissions(null))]).toEqual([]);
    expect(await checker.hasPerm(null, 'auth.view_user')).toBe(false);
    expect(await checker.hasModulePerms(null, 'auth')).toBe(false);
    // Django's AnonymousUser: the same answers as no user at all.
    expect([...(await checker.getAllPermissions(ANONYMOUS_USER))]).toEqual([]);
    expect(await checker.hasPerm(ANONYMOUS_USER, 'auth.view_user')).toBe(false);
    expect(await checker.hasPerms(ANONYMOUS_USER, [])).toBe(true); // all of none, as in Django
    expect(await checker.hasModulePerms(ANONYMOUS_USER, 'auth')).toBe(false);
  });

  it('answers hasPerms (all of) and hasModulePerms (any in the app)', async () => {
    const checker = fixture.auth.permissions(fixture.em());
    const user = users.twoGroups ?? null;
    expect(await checker.hasPerms(user, ['auth.add_user', 'auth.view_group'])).toBe(true);
    expect(await checker.hasPerms(user, ['auth.add_user', 'auth.delete_user'])).toBe(false);
    expect(await checker.hasPerms(user, [])).toBe(true);
    expect(await checker.hasModulePerms(user, 'auth')).toBe(true);
    expect(await checker.hasModulePerms(user, 'contenttypes')).toBe(false);
    expect(await checker.hasModulePerms(users.nobody ?? null, 'auth')).toBe(false);
  });

  it('refuses object-level questions at the model level (object permissions have their own backend)', async () => {
    const checker = fixture.auth.permissions(fixture.em());
    expect(await checker.hasPerm(users.oneGroup ?? null, 'auth.add_user', { id: 1 })).toBe(false);
    expect(await checker.hasPerm(users.superuser ?? null, 'auth.add_user', { id: 1 })).toBe(true);
  });

  it("loads a user's permissions and groups with one query, once per checker, however many checks follow", async () => {
    const checker = fixture.auth.permissions(fixture.em());
    const user = users.twoGroups;
    if (!user) throw new Error('fixture user missing');
    const before = fixture.queries.length;
    for (const perm of everyPermissionOfAuth) await checker.hasPerm(user, perm);
    await checker.getAllPermissions(user);
    await checker.hasModulePerms(user, 'auth');
    const groups = await checker.getGroups(user);
    expect(fixture.queries.slice(before)).toEqual([expect.stringMatching(/auth_user_groups.*auth_permission/s)]);
    expect(groups.map((group) => group.name)).toEqual(['editors', 'viewers']);
    // A new checker (a new request) asks again; so does this one once told to forget (after a change of grants).
    await fixture.auth.permissions(fixture.em()).hasPerm(user, 'auth.add_user');
    expect(fixture.queries.length - before).toBe(2);
    checker.forget();
    await checker.hasPerm(user, 'auth.add_user');
    expect(fixture.queries.length - before).toBe(3);
  });
});
