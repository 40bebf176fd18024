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
  type ObjectRef,
} from '../../src/auth/object-permissions.js';
import { Group } from '../../src/entities/group.js';
import { Permission } from '../../src/entities/permission.js';
import { Poll } from '../../examples/polls/models.ts';
import { User } from '../../src/entities/user.js';
import { createAuthFixture, type AuthFixture } from '../support/auth.js';

describe('object permissions', () => {
  let fixture: AuthFixture;
  const users: Record<string, User> = {};
  let editors: Group;
  const polls = Array.from({ length: 1000 }, (_item, index) => ({ id: index + 1 }));
  const POLL = 'polls.poll';
  const poll = (key: number | string) => ({ model: POLL, key });

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
    (await checker().filter(users[username] ?? null, 'polls.change_poll', POLL, polls)).map((poll) => poll.id);

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
    expect(await checker().filter(ANONYMOUS_USER, 'polls.change_poll', POLL, polls)).toEqual([]);
    expect(await checker().hasPerm(ANONYMOUS_USER, 'polls.change_poll', poll(7))).toBe(false);
  });

  it('answers one object at a time, by number or text key', async () => {
    const check = checker();
    expect(await check.hasPerm(users.owner ?? null, 'polls.change_poll', poll(7))).toBe(true);
    expect(await check.hasPerm(users.owner ?? null, 'polls.change_poll', poll('7'))).toBe(true);
    expect(await check.hasPerm(users.owner ?? null, 'polls.change_poll', poll(8))).toBe(false);
    expect(await check.hasPerm(users.owner ?? null, 'polls.delete_poll', poll(7))).toBe(false);
  });

  it("asks about the object's model: a grant on poll 7 says nothing of choice 7, and the reverse", async () => {
    const check = checker();
    const choice = (key: number) => ({ model: 'polls.choice', key });
    const ask = (username: string, perm: string, object: ObjectRef) =>
      check.hasPerm(users[username] ?? null, perm, object);
    // owner holds polls.change_poll on poll 7; nobody holds polls.change_choice on choice 7.
    expect(await ask('owner', 'polls.change_poll', choice(7))).toBe(false);
    expect(await ask('nobody', 'polls.change_choice', choice(7))).toBe(true);
    expect(await ask('nobody', 'polls.change_choice', poll(7))).toBe(false);
    // The model level covers its own model's objects only.
    expect(await ask('modelLevel', 'polls.change_poll', poll(7))).toBe(true);
    expect(await ask('modelLevel', 'polls.change_poll', choice(7))).toBe(false);
    expect(await ask('modelLevel', 'polls.change_poll', { model: 'auth.user', key: 7 })).toBe(false);
    // A superuser holds every permission, as Django's has_perm says.
    expect(await ask('root', 'polls.change_poll', choice(7))).toBe(true);
    // The permission's own model when none is named (an id argument of a poll permission names a poll).
    expect([...(await check.permittedKeys(users.owner ?? null, 'polls.change_poll', undefined, [7, 8]))]).toEqual([
      '7',
    ]);
  });

  it('filters 1,000 objects with one query, and answers again from memory', async () => {
    const check = checker();
    const before = fixture.queries.length;
    await check.filter(users.member ?? null, 'polls.change_poll', POLL, polls);
    const first = fixture.queries.slice(before);
    await check.filter(users.member ?? null, 'polls.change_poll', POLL, polls);
    await check.hasPerm(users.member ?? null, 'polls.change_poll', poll(900));
    const all = fixture.queries.slice(before);
    // The model-level permissions (one query) and the object grants (one query); nothing more after that.
    expect(first).toHaveLength(2);
    expect(all).toHaveLength(2);
  });

  it('gathers single checks made together (one per item of a list being resolved) into one query', async () => {
    const check = checker();
    const before = fixture.queries.length;
    const answers = await Promise.all(
      polls.map((item) => check.hasPerm(users.member ?? null, 'polls.change_poll', poll(item.id))),
    );
    expect(polls.filter((_item, index) => answers[index]).map((item) => item.id)).toEqual([8, 900]);
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

  it('pages the permitted objects in SQL: full pages, a count of those only, one statement a page', async () => {
    const em = fixture.em();
    const made = [];
    for (let index = 0; index < 40; index += 1)
      made.push(em.create(Poll, { question: `Q${index}`, pubDate: new Date() }));
    await em.flush();
    const ids = made.map((item) => item.id);
    const granted = ids.filter((_id, index) => index % 3 === 0);
    for (const id of granted)
      await grantObjectPermission(em, 'polls.delete_poll', { userId: users.owner?.id ?? 0 }, id);
    // A grant of the same permission on a key that is no poll, and one whose key is not a number at all.
    await grantObjectPermission(em, 'polls.delete_poll', { userId: users.owner?.id ?? 0 }, 999_999);
    await grantObjectPermission(em, 'polls.delete_poll', { userId: users.owner?.id ?? 0 }, 'not-a-number');
    const pages = async (username: string) => {
      const check = checker();
      // The model level: loaded before counting, as a request's earlier checks would have.
      await check.permittedKeys(users[username] ?? null, 'polls.delete_poll', POLL, [1]);
      const seen: number[] = [];
      const statements: number[] = [];
      let totals = new Set<number>();
      let after: number | undefined;
      for (;;) {
        const before = fixture.queries.length;
        const page = await check.permittedPage(Poll, users[username] ?? null, 'polls.delete_poll', POLL, {
          first: 4,
          ...(after === undefined ? {} : { after }),
        });
        statements.push(fixture.queries.length - before);
        totals = new Set([...totals, page.totalCount]);
        seen.push(...page.items.map((item) => item.id));
        // Every row of a page is known permitted: checking it again costs no query.
        const again = fixture.queries.length;
        expect(await check.filter(users[username] ?? null, 'polls.delete_poll', POLL, page.items)).toEqual(page.items);
        expect(fixture.queries.length).toBe(again);
        if (!page.hasNextPage) break;
        expect(page.items).toHaveLength(4);
        after = page.items.at(-1)?.id;
      }
      return { seen, totals: [...totals], statements: [...new Set(statements)] };
    };
    const everyPoll = (await em.find(Poll, {}, { orderBy: { id: 'asc' } })).map((item) => item.id);
    expect(await pages('owner')).toEqual({ seen: granted, totals: [granted.length], statements: [1] });
    expect(await pages('root')).toEqual({ seen: everyPoll, totals: [everyPoll.length], statements: [1] });
    expect(await pages('nobody')).toEqual({ seen: [], totals: [0], statements: [1] });
    expect(await pages('retired')).toEqual({ seen: [], totals: [0], statements: [1] });
  });

  it('refuses to grant a permission that does not exist', async () => {
    await expect(grantObjectPermission(fixture.em(), 'polls.fly_poll', { userId: 1 }, 1)).rejects.toThrow(
      UnknownPermissionError,
    );
  });
});
