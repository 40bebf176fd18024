/**
 * Object-level permissions (django-guardian's model): grants on one object to a user or a group, combined with
 * model-level grants, superusers and inactive users; lists filtered with one query whatever their length.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { ANONYMOUS_USER } from '../../src/auth/anonymous.js';
import {
  ObjectPermissionChecker,
  UnknownPermissionError,
  grantObjectPermission,
  revokeObjectPermission,
} from '../../src/auth/object-permissions.js';
import { Group } from '../../src/entities/group.js';
import { Permission } from '../../src/entities/permission.js';
import { User } from '../../src/entities/user.js';
import { createAuthFixture, type AuthFixture } from '../support/auth.js';

describe('object permissions', () => {
  let fixture: AuthFixture;
  const users: Record<string, User> = {};
  let editors: Group;
  const polls = Array.from({ length: 1000 }, (_item, index) => ({ id: index + 1 }));

  beforeAll(async () => {
    fixture = await createAuthFixture();
    const em = fixture.em();
    for (const [username, extra] of [
      ['nobody', {}],
      ['owner', {}],
      ['member', {}],
      ['modelLevel', {}],
      ['root', { isSuperuser: true }],
      ['retired', { isSuperuser: true, isActive: false }],
      ['inactiveOwner', { isActive: false }],
    ] as const) {
      users[username] = await fixture.auth.users.createUser(em, { username, password: null, ...extra });
    }
    editors = await fixture.group('editors', []);
    const member = await em.findOneOrFail(User, users.member?.id ?? 0, { populate: ['groups'] });
    member.groups.add(em.getReference(Group, editors.id));
    const modelLevel = await em.findOneOrFail(User, users.modelLevel?.id ?? 0, { populate: ['userPermissions'] });
    modelLevel.userPermissions.add(em.getReference(Permission, (await fixture.permission('polls.change_poll')).id));
    await em.flush();
    await grantObjectPermission(em, 'polls.change_poll', { userId: users.owner?.id ?? 0 }, 7);
    await grantObjectPermission(em, 'polls.change_poll', { userId: users.owner?.id ?? 0 }, 7); // twice: harmless
    await grantObjectPermission(em, 'polls.change_poll', { userId: users.inactiveOwner?.id ?? 0 }, 7);
    await grantObjectPermission(em, 'polls.change_poll', { groupId: editors.id }, 8);
    await grantObjectPermission(em, 'polls.change_poll', { groupId: editors.id }, 900);
    // Another permission on the same object, and the same codename's object on another model, grant nothing here.
    await grantObjectPermission(em, 'polls.view_poll', { userId: users.nobody?.id ?? 0 }, 7);
    await grantObjectPermission(em, 'polls.change_choice', { userId: users.nobody?.id ?? 0 }, 7);
  });
  afterAll(() => fixture.close());

  const checker = () => new ObjectPermissionChecker(fixture.em(), fixture.auth.permissions(fixture.em()));
  const visible = async (username: string) =>
    (await checker().filter(users[username] ?? null, 'polls.change_poll', polls)).map((poll) => poll.id);

  it.each([
    ['nobody', []],
    ['owner', [7]],
    ['member', [8, 900]],
    ['modelLevel', polls.map((poll) => poll.id)],
    ['root', polls.map((poll) => poll.id)],
    ['retired', []],
    ['inactiveOwner', []],
  ])('%s may change the right ones of 1,000 polls', async (username, expected) => {
    expect(await visible(username)).toEqual(expected);
  });

  it('gives the anonymous user nothing', async () => {
    expect(await checker().filter(ANONYMOUS_USER, 'polls.change_poll', polls)).toEqual([]);
    expect(await checker().hasPerm(ANONYMOUS_USER, 'polls.change_poll', 7)).toBe(false);
  });

  it('answers one object at a time, by number or text key', async () => {
    const check = checker();
    expect(await check.hasPerm(users.owner ?? null, 'polls.change_poll', 7)).toBe(true);
    expect(await check.hasPerm(users.owner ?? null, 'polls.change_poll', '7')).toBe(true);
    expect(await check.hasPerm(users.owner ?? null, 'polls.change_poll', 8)).toBe(false);
    expect(await check.hasPerm(users.owner ?? null, 'polls.delete_poll', 7)).toBe(false);
  });

  it('filters 1,000 objects with one query, and answers again from memory', async () => {
    const check = checker();
    const before = fixture.queries.length;
    await check.filter(users.member ?? null, 'polls.change_poll', polls);
    const first = fixture.queries.slice(before);
    await check.filter(users.member ?? null, 'polls.change_poll', polls);
    await check.hasPerm(users.member ?? null, 'polls.change_poll', 900);
    const all = fixture.queries.slice(before);
    // The model-level permissions (one query) and the object grants (one query); nothing more after that.
    expect(first).toHaveLength(2);
    expect(all).toHaveLength(2);
  });

  it('gathers single checks made together (one per item of a list being resolved) into one query', async () => {
    const check = checker();
    const before = fixture.queries.length;
    const answers = await Promise.all(
      polls.map((poll) => check.hasPerm(users.member ?? null, 'polls.change_poll', poll.id)),
    );
    expect(polls.filter((_poll, index) => answers[index]).map((poll) => poll.id)).toEqual([8, 900]);
    expect(fixture.queries.length - before).toBe(2); // model-level permissions, then the object grants
  });

  it('takes a revocation into account on the next check (a new request)', async () => {
    const em = fixture.em();
    await grantObjectPermission(em, 'polls.change_poll', { userId: users.nobody?.id ?? 0 }, 3);
    expect(await visible('nobody')).toEqual([3]);
    expect(await revokeObjectPermission(em, 'polls.change_poll', { userId: users.nobody?.id ?? 0 }, 3)).toBe(true);
    expect(await revokeObjectPermission(em, 'polls.change_poll', { userId: users.nobody?.id ?? 0 }, 3)).toBe(false);
    expect(await visible('nobody')).toEqual([]);
  });

  it('refuses to grant a permission that does not exist', async () => {
    await expect(grantObjectPermission(fixture.em(), 'polls.fly_poll', { userId: 1 }, 1)).rejects.toThrow(
      UnknownPermissionError,
    );
  });
});
