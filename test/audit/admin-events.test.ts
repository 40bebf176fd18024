/**
 * What administrators change is in the audit log, once, when it changed: group permissions, memberships, direct and
 * object-level grants, a group deleted under its members, a password set by an administrator; and a password set by
 * `npm run manage -- changepassword`, attributed to no user.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createAuth } from '../../src/auth/index.js';
import { loadConfig } from '../../src/config/index.js';
import { openDatabase } from '../../src/db/database.js';
import { selectAll, selectOne } from '../../src/db/sql.js';
import type { EntityManager } from '@mikro-orm/postgresql';
import { createTestApp, type TestApp } from '../support/app.js';
import { CHEAP_HASHING } from '../support/auth.js';
import { createTestDatabase, databaseEnv } from '../support/database.js';
import { testLogger } from '../support/env.js';
import { HttpClient } from '../support/http-client.js';
import { runManage } from '../support/process.js';
import { loggedInClient } from '../support/sessions.js';

const PASSWORD = 'a-fine-password-1';

interface Row {
  kind: string;
  actor_id: number | null;
  target_user_id: number | null;
  target_group_id: number | null;
  username: string | null;
  details: Record<string, unknown>;
}

/** The rows after `afterId`, once the writer has written `count` of them. */
async function rowsAfter(em: () => EntityManager, afterId: number, count: number): Promise<Row[]> {
  const until = Date.now() + 15_000;
  for (;;) {
    const rows = await selectAll<Row>(
      em(),
      `SELECT kind, actor_id, target_user_id, target_group_id, username, details
         FROM gqlauth_audit_event WHERE id > ? ORDER BY id`,
      [afterId],
    );
    if (rows.length >= count || Date.now() > until) return rows;
    await sleep(25);
  }
}

async function lastId(em: EntityManager): Promise<number> {
  return Number((await selectOne<{ id: string | null }>(em, 'SELECT max(id) AS id FROM gqlauth_audit_event'))?.id ?? 0);
}

describe('administrators’ changes in the audit log', () => {
  let app: TestApp;
  let root: HttpClient;
  const ids: Record<string, number> = {};
  const em = () => app.database.orm.em.fork();
  /** Runs the operations, then gives the rows they caused (after the login's). */
  const recorded = async (expected: number, operations: () => Promise<void>) => {
    const from = await lastId(em());
    await operations();
    // A few more than expected, if any: a duplicate event would be seen.
    await sleep(100);
    return rowsAfter(em, from, expected);
  };
  const ok = async (query: string, variables: Record<string, unknown> = {}) => {
    const { body } = await root.graphql(query, variables);
    expect(body.errors).toBeUndefined();
    return body.data as Record<string, unknown>;
  };

  beforeAll(async () => {
    app = await createTestApp({ env: { ...CHEAP_HASHING, REGISTRATION_OPEN: 'true' } });
    const auth = createAuth(app.config);
    for (const [username, extra] of [
      ['root', { isStaff: true, isSuperuser: true }],
      ['alice', {}],
      ['bob', {}],
    ] as const)
      ids[username] = (await auth.users.createUser(em(), { username, password: PASSWORD, ...extra })).id;
    root = await loggedInClient(app.url, 'root', PASSWORD);
    // Its login's row written: the tests count the rows after it.
    expect(await rowsAfter(em, 0, 1)).toHaveLength(1);
  });
  afterAll(() => app.stop());

  it('records a group made with permissions, its members joining and leaving, and its deletion', async () => {
    let groupId = 0;
    const rows = await recorded(6, async () => {
      const made = await ok('mutation { createGroup(name: "Editors", permissions: ["polls.add_poll"]) { id } }');
      groupId = Number((made.createGroup as { id: string }).id);
      const join = 'mutation ($u: ID!, $g: ID!) { addUserToGroup(userId: $u, groupId: $g) { id } }';
      await ok(join, { u: ids.alice, g: groupId });
      await ok(join, { u: ids.alice, g: groupId }); // already a member: nothing changes
      await ok(join, { u: ids.bob, g: groupId });
      await ok('mutation ($u: ID!, $g: ID!) { removeUserFromGroup(userId: $u, groupId: $g) { id } }', {
        u: ids.bob,
        g: groupId,
      });
      await ok('mutation ($g: ID!) { deleteGroup(id: $g) }', { g: groupId });
    });
    const by = { actor_id: ids.root };
    expect(rows).toEqual([
      {
        ...by,
        kind: 'group_permissions_changed',
        target_user_id: null,
        target_group_id: groupId,
        username: null,
        details: { group: 'Editors', added: ['polls.add_poll'], removed: [] },
      },
      {
        ...by,
        kind: 'user_groups_changed',
        target_user_id: ids.alice,
        target_group_id: null,
        username: 'alice',
        details: { added: ['Editors'], removed: [] },
      },
      {
        ...by,
        kind: 'user_groups_changed',
        target_user_id: ids.bob,
        target_group_id: null,
        username: 'bob',
        details: { added: ['Editors'], removed: [] },
      },
      {
        ...by,
        kind: 'user_groups_changed',
        target_user_id: ids.bob,
        target_group_id: null,
        username: 'bob',
        details: { added: [], removed: ['Editors'] },
      },
      // Deleted: the group's permissions went, and its remaining member left it.
      {
        ...by,
        kind: 'group_permissions_changed',
        target_user_id: null,
        target_group_id: groupId,
        username: null,
        details: { group: 'Editors', added: [], removed: ['polls.add_poll'] },
      },
      {
        ...by,
        kind: 'user_groups_changed',
        target_user_id: ids.alice,
        target_group_id: null,
        username: 'alice',
        details: { added: [], removed: ['Editors'] },
      },
    ]);
  });

  it('records grants and revocations that changed something, on the model or on one object', async () => {
    const made = await ok('mutation { createGroup(name: "Viewers") { id } }');
    const groupId = Number((made.createGroup as { id: string }).id);
    const change = (action: 'grant' | 'revoke', target: string, objectId?: string) =>
      ok(
        `mutation ($p: String!, $u: ID, $g: ID, $o: ID) { ${action}Permission(perm: $p, userId: $u, groupId: $g, objectId: $o) }`,
        {
          p: 'polls.view_poll',
          [target === 'group' ? 'g' : 'u']: target === 'group' ? groupId : ids.alice,
          o: objectId,
        },
      );
    const rows = await recorded(4, async () => {
      await change('grant', 'user');
      await change('revoke', 'user');
      await change('revoke', 'user'); // nothing to revoke: no event
      await change('grant', 'group', '42');
      await change('revoke', 'group', '42');
    });
    expect(
      rows.map(({ kind, target_user_id, target_group_id, details }) => ({
        kind,
        target_user_id,
        target_group_id,
        details,
      })),
    ).toEqual([
      {
        kind: 'user_permissions_changed',
        target_user_id: ids.alice,
        target_group_id: null,
        details: { added: ['polls.view_poll'], removed: [] },
      },
      {
        kind: 'user_permissions_changed',
        target_user_id: ids.alice,
        target_group_id: null,
        details: { added: [], removed: ['polls.view_poll'] },
      },
      {
        kind: 'group_permissions_changed',
        target_user_id: null,
        target_group_id: groupId,
        details: { group: 'Viewers', added: ['polls.view_poll'], removed: [], objectId: '42' },
      },
      {
        kind: 'group_permissions_changed',
        target_user_id: null,
        target_group_id: groupId,
        details: { group: 'Viewers', added: [], removed: ['polls.view_poll'], objectId: '42' },
      },
    ]);
  });

  it('records the flags that changed of a user (active, staff, superuser), not the rest of a change', async () => {
    const update = (input: Record<string, unknown>) =>
      ok('mutation ($u: ID!, $i: UpdateUserInput!) { updateUser(id: $u, input: $i) { id } }', { u: ids.bob, i: input });
    const rows = await recorded(3, async () => {
      await update({ firstName: 'Robert' }); // not a status: nothing
      await update({ isStaff: true, isActive: true, lastName: 'Jones' }); // active already: only staff changed
      await update({ isSuperuser: true, isStaff: false });
      await update({ isSuperuser: false });
    });
    expect(rows).toEqual([
      {
        kind: 'user_status_changed',
        actor_id: ids.root,
        target_user_id: ids.bob,
        target_group_id: null,
        username: 'bob',
        details: { isStaff: true },
      },
      {
        kind: 'user_status_changed',
        actor_id: ids.root,
        target_user_id: ids.bob,
        target_group_id: null,
        username: 'bob',
        details: { isStaff: false, isSuperuser: true },
      },
      {
        kind: 'user_status_changed',
        actor_id: ids.root,
        target_user_id: ids.bob,
        target_group_id: null,
        username: 'bob',
        details: { isSuperuser: false },
      },
    ]);
  });

  it('records a user created and deleted by an administrator, the name kept after the row is gone', async () => {
    let created = 0;
    const rows = await recorded(2, async () => {
      const data = await ok(
        'mutation { createUser(input: { username: "dora", email: "dora@example.com", isStaff: true }) { id } }',
      );
      created = Number((data.createUser as { id: string }).id);
      await ok('mutation ($u: ID!) { deleteUser(id: $u) }', { u: created });
    });
    expect(rows).toEqual([
      {
        kind: 'user_created',
        actor_id: ids.root,
        target_user_id: created,
        target_group_id: null,
        username: 'dora',
        details: { isStaff: true, isSuperuser: false },
      },
      {
        kind: 'user_deleted',
        actor_id: ids.root,
        target_user_id: created,
        target_group_id: null,
        username: 'dora',
        details: {},
      },
    ]);
  });

  it('records a registration as made by nobody logged in, and the login it starts', async () => {
    const visitor = new HttpClient(app.url);
    let id = 0;
    const rows = await recorded(2, async () => {
      const { body } = await visitor.graphql<{ register: { id: string } }>(
        'mutation { register(input: { username: "erin", email: "erin@example.com", password: "a-fine-password-9" }) { id } }',
      );
      id = Number(body.data?.register.id);
    });
    expect(
      rows.map(({ kind, actor_id, target_user_id, username, details }) => ({
        kind,
        actor_id,
        target_user_id,
        username,
        details,
      })),
    ).toEqual([
      {
        kind: 'user_created',
        actor_id: null,
        target_user_id: id,
        username: 'erin',
        details: { isStaff: false, isSuperuser: false },
      },
      { kind: 'login', actor_id: id, target_user_id: id, username: 'erin', details: { backend: 'model' } },
    ]);
  });

  it('records a new username or e-mail (what logs in, where resets go), with the name before', async () => {
    const update = (input: Record<string, unknown>) =>
      ok('mutation ($u: ID!, $i: UpdateUserInput!) { updateUser(id: $u, input: $i) { id } }', {
        u: ids.alice,
        i: input,
      });
    const rows = await recorded(3, async () => {
      await update({ email: 'alice@example.org' });
      await update({ email: 'alice@example.org' }); // the same again: nothing changed, nothing recorded
      await update({ username: 'alicia', email: 'alicia@example.org', firstName: 'Alicia' });
      await update({ username: 'alice' });
    });
    expect(rows).toEqual([
      {
        kind: 'user_identity_changed',
        actor_id: ids.root,
        target_user_id: ids.alice,
        target_group_id: null,
        username: 'alice',
        details: { changed: ['email'] },
      },
      {
        kind: 'user_identity_changed',
        actor_id: ids.root,
        target_user_id: ids.alice,
        target_group_id: null,
        username: 'alicia',
        details: { changed: ['username', 'email'], previousUsername: 'alice' },
      },
      {
        kind: 'user_identity_changed',
        actor_id: ids.root,
        target_user_id: ids.alice,
        target_group_id: null,
        username: 'alice',
        details: { changed: ['username'], previousUsername: 'alicia' },
      },
    ]);
  });

  it('records a password an administrator set, as theirs', async () => {
    const rows = await recorded(1, async () => {
      await ok('mutation ($u: ID!) { setUserPassword(id: $u, password: "a-new-one-for-bob-7") }', { u: ids.bob });
    });
    expect(rows).toEqual([
      {
        kind: 'password_set',
        actor_id: ids.root,
        target_user_id: ids.bob,
        target_group_id: null,
        username: 'bob',
        details: { via: 'admin' },
      },
    ]);
  });
});

it('records a password set by `npm run manage -- changepassword` and a superuser made by `createsuperuser`, by no user', async () => {
  const testDatabase = await createTestDatabase();
  try {
    let database = await openDatabase(testDatabase.config, testLogger);
    let id: number;
    try {
      const auth = createAuth(loadConfig(CHEAP_HASHING));
      id = (await auth.users.createUser(database.orm.em.fork(), { username: 'carol', password: PASSWORD })).id;
    } finally {
      await database.close();
    }
    const result = await runManage(
      ['changepassword', 'carol'],
      { ...databaseEnv(testDatabase), ...CHEAP_HASHING },
      'another-fine-one-3\nanother-fine-one-3\n',
    );
    expect(result.code).toBe(0);
    const created = await runManage(['createsuperuser', '--no-input'], {
      ...databaseEnv(testDatabase),
      ...CHEAP_HASHING,
      SUPERUSER_USERNAME: 'boss',
      SUPERUSER_PASSWORD: 'a-fine-password-for-boss-4',
    });
    expect(created.code).toBe(0);
    database = await openDatabase(testDatabase.config, testLogger);
    try {
      expect(
        await selectAll(
          database.orm.em.fork(),
          'SELECT kind, actor_id, target_user_id, username, details FROM gqlauth_audit_event ORDER BY id',
        ),
      ).toEqual([
        { kind: 'password_set', actor_id: null, target_user_id: id, username: 'carol', details: { via: 'command' } },
        {
          kind: 'user_created',
          actor_id: null,
          target_user_id: id + 1,
          username: 'boss',
          details: { isStaff: true, isSuperuser: true },
        },
      ]);
    } finally {
      await database.close();
    }
  } finally {
    await testDatabase.drop();
  }
});
