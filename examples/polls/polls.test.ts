/**
 * The polls app over HTTP, installed as an operator installs it (INSTALLED_APPS, the test server's default): every operation against every kind of user (anonymous, no permission, direct
 * permission, via a group, via two groups, object-level grant, active superuser, superuser made inactive while
 * logged in), with the answer each must get. And the cost of a filtered list.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import {
  buildSchema,
  createAuth,
  grantObjectPermission,
  Group,
  Permission,
  UserEntity as User,
} from 'graphql-auth-server';
import { Choice, Poll } from './models.ts';
import pollsApp from './index.ts';
import { sqlLogger } from '../../test/support/sql-log.js';
import { createTestApp, type TestApp } from '../../test/support/app.js';
import { CHEAP_HASHING } from '../../test/support/auth.js';
import { HttpClient } from '../../test/support/http-client.js';
import { loggedInClient } from '../../test/support/sessions.js';

const KINDS = ['anonymous', 'nobody', 'direct', 'oneGroup', 'twoGroups', 'objectLevel', 'root', 'retired'] as const;
type Kind = (typeof KINDS)[number];
const PASSWORD = 'polls-password-1';
const ALL_POLLS = ['polls.view_poll', 'polls.add_poll', 'polls.change_poll', 'polls.delete_poll', 'polls.add_choice'];

describe('the polls example', () => {
  let app: TestApp;
  const clients = {} as Record<Kind, HttpClient>;
  const statements: string[] = [];
  let polls: number[] = [];
  const choices: string[] = [];

  const em = () => app.database.orm.em.fork();
  const perm = (name: string) => {
    const [appLabel, codename] = name.split('.');
    return em().findOneOrFail(Permission, { codename: codename ?? '', contentType: { appLabel: appLabel ?? '' } });
  };
  const userId = async (username: string) => (await em().findOneOrFail(User, { username })).id;
  /** A new poll, made directly in the database, on which objectLevel holds `grants`. */
  const newPoll = async (question: string, grants: string[] = []) => {
    const manager = em();
    const poll = manager.create(Poll, { question, pubDate: new Date() });
    await manager.flush();
    for (const name of grants)
      await grantObjectPermission(manager, name, { userId: await userId('objectLevel') }, poll.id);
    return poll.id;
  };

  beforeAll(async () => {
    const logger = sqlLogger(statements);
    // One field added to the example, guarded by a permission on the object it belongs to.
    const schema = buildSchema({
      ...pollsApp,
      typeDefs: [
        ...pollsApp.typeDefs,
        'extend type Poll { editNote: String @hasPerm(perm: "polls.change_poll", object: PARENT) }',
      ],
      resolvers: [...pollsApp.resolvers, { Poll: { editNote: () => 'you may edit this poll' } }],
    });
    app = await createTestApp({ env: CHEAP_HASHING, logger, schema });
    const auth = createAuth(app.config);
    const manager = em();
    const group = async (name: string, perms: string[]) => {
      const made = manager.create(Group, { name });
      for (const name of perms) made.permissions.add(await perm(name));
      return made;
    };
    const editors = await group('Editors', ALL_POLLS);
    const viewers = await group('Viewers', ['polls.view_poll', 'polls.view_choice']);
    const writers = await group('Writers', [
      'polls.add_poll',
      'polls.change_poll',
      'polls.delete_poll',
      'polls.add_choice',
    ]);
    await manager.flush();
    for (const kind of KINDS.slice(1)) {
      const created = await auth.users.createUser(manager, {
        username: kind,
        password: PASSWORD,
        isSuperuser: kind === 'root' || kind === 'retired',
      });
      const user = await manager.findOneOrFail(User, created.id, { populate: ['groups', 'userPermissions'] });
      if (kind === 'direct') for (const name of ALL_POLLS) user.userPermissions.add(await perm(name));
      if (kind === 'oneGroup') user.groups.add(editors);
      if (kind === 'twoGroups') user.groups.add(viewers, writers);
    }
    await manager.flush();
    polls = [
      await newPoll('Granted to objectLevel', ['polls.view_poll', 'polls.change_poll']),
      await newPoll('Not granted'),
    ];
    clients.anonymous = new HttpClient(app.url);
    for (const kind of KINDS.slice(1)) clients[kind] = await loggedInClient(app.url, kind, PASSWORD);
    // A superuser made inactive while logged in: the open session stops counting at its next request.
    await em().nativeUpdate(User, { username: 'retired' }, { isActive: false });
  });
  afterAll(() => app.stop());

  /** `ok`, or the error code the operation answered. */
  const outcome = async (kind: Kind, query: string, variables: Record<string, unknown> = {}) => {
    const { body } = await clients[kind].graphql(query, variables);
    return body.errors ? String(body.errors[0]?.extensions?.code) : 'ok';
  };

  type Operation = [query: string, variables: Record<string, unknown>];
  const U = 'UNAUTHENTICATED';
  const F = 'FORBIDDEN';
  //                                   anon nobody direct 1group 2groups object root retired
  const operations: [string, () => Operation | Promise<Operation>, string[]][] = [
    [
      'poll (granted object)',
      () => ['query ($id: ID!) { poll(id: $id) { id } }', { id: polls[0] }],
      [U, F, 'ok', 'ok', 'ok', 'ok', 'ok', U],
    ],
    [
      'poll (other object)',
      () => ['query ($id: ID!) { poll(id: $id) { id } }', { id: polls[1] }],
      [U, F, 'ok', 'ok', 'ok', F, 'ok', U],
    ],
    [
      'createPoll',
      () => ['mutation { createPoll(question: "New?", choices: ["A", "B"]) { id } }', {}],
      [U, F, 'ok', 'ok', 'ok', F, 'ok', U],
    ],
    [
      'updatePoll (granted object)',
      () => ['mutation ($id: ID!) { updatePoll(id: $id, question: "Edited?") { id } }', { id: polls[0] }],
      [U, F, 'ok', 'ok', 'ok', 'ok', 'ok', U],
    ],
    [
      'updatePoll (other object)',
      () => ['mutation ($id: ID!) { updatePoll(id: $id, question: "Edited?") { id } }', { id: polls[1] }],
      [U, F, 'ok', 'ok', 'ok', F, 'ok', U],
    ],
    [
      'deletePoll (granted object)',
      async () => [
        'mutation ($id: ID!) { deletePoll(id: $id) }',
        { id: await newPoll('Doomed', ['polls.delete_poll']) },
      ],
      [U, F, 'ok', 'ok', 'ok', 'ok', 'ok', U],
    ],
    [
      'deletePoll (other object)',
      async () => ['mutation ($id: ID!) { deletePoll(id: $id) }', { id: await newPoll('Safe') }],
      [U, F, 'ok', 'ok', 'ok', F, 'ok', U],
    ],
    [
      'addChoice',
      () => ['mutation ($id: ID!) { addChoice(pollId: $id, text: "C") { id } }', { id: polls[0] }],
      [U, F, 'ok', 'ok', 'ok', F, 'ok', U],
    ],
    [
      'vote (granted object)',
      () => ['mutation ($id: ID!) { vote(choiceId: $id) { votes } }', { id: choices[0] }],
      [U, 'NOT_FOUND', 'ok', 'ok', 'ok', 'ok', 'ok', U],
    ],
    [
      'vote (other object)',
      () => ['mutation ($id: ID!) { vote(choiceId: $id) { votes } }', { id: choices[1] }],
      [U, 'NOT_FOUND', 'ok', 'ok', 'ok', 'NOT_FOUND', 'ok', U],
    ],
  ];

  it('answers every operation for every kind of user as the matrix says: 0 mismatches', async () => {
    // A choice to vote for in each poll.
    for (const poll of polls) {
      const { body } = await clients.root.graphql<{ addChoice: { id: string } }>(
        'mutation ($id: ID!) { addChoice(pollId: $id, text: "Yes") { id } }',
        { id: poll },
      );
      choices.push(body.data?.addChoice.id ?? '');
    }
    const mismatches: string[] = [];
    for (const [name, make, expected] of operations) {
      for (const [index, kind] of KINDS.entries()) {
        const [query, variables] = await make();
        const got = await outcome(kind, query, variables);
        if (got !== expected[index]) mismatches.push(`${name} as ${kind}: expected ${expected[index]}, got ${got}`);
      }
    }
    expect(mismatches).toEqual([]);
    // deletePoll took the object-level grants of the polls it deleted with them.
    const orphans = await em()
      .getConnection()
      .execute<{ n: string }[]>(
        `SELECT count(*) AS n FROM guardian_userobjectpermission o
           JOIN django_content_type ct ON ct.id = o.content_type_id AND ct.app_label = 'polls' AND ct.model = 'poll'
          WHERE NOT EXISTS (SELECT 1 FROM polls_poll p WHERE p.id::text = o.object_pk)`,
      );
    expect(orphans[0]?.n).toBe('0');
  });

  /** The ids of the first page of `polls` a user sees, or the error code. */
  const listed = async (kind: Kind, first = 200) => {
    const { body } = await clients[kind].graphql<{ polls: { edges: { node: { id: string } }[] } }>(
      'query ($first: Int) { polls(first: $first) { edges { node { id } } } }',
      { first },
    );
    return body.errors ? body.errors[0]?.extensions?.code : body.data?.polls.edges.map(({ node }) => Number(node.id));
  };

  it('lists only the polls each user may view, filtered in SQL: one statement for the page and its count', async () => {
    const all = (await em().find(Poll, {}, { orderBy: { id: 'asc' } })).map((poll) => poll.id);
    expect(await listed('anonymous')).toBe(U);
    expect(await listed('nobody')).toEqual([]);
    expect(await listed('objectLevel')).toEqual([polls[0]]);
    for (const kind of ['direct', 'oneGroup', 'twoGroups', 'root'] as const) expect(await listed(kind)).toEqual(all);

    // Cost: a page of 3 of 300 polls costs what a page of 1 of 3 does: the session, and the page with its count.
    const query = '{ polls(first: 50) { totalCount edges { node { id question } } } }';
    const cost = async () => {
      await clients.objectLevel.graphql(query); // the user's permissions are then in the process's cache
      statements.length = 0;
      const { body } = await clients.objectLevel.graphql(query);
      expect(body.errors).toBeUndefined();
      return statements.length;
    };
    const small = await cost();
    for (let index = 0; index < 300; index += 1)
      await newPoll(`Poll ${index}`, index % 3 === 0 ? ['polls.view_poll'] : []);
    expect(await cost()).toBe(small);
    expect(small).toBe(2);
    expect(await listed('objectLevel')).toHaveLength(1 + 100);
  });

  it('pages through what the user may view: full pages, a count of those only, no hidden row told', async () => {
    const visible = (await listed('objectLevel')) as number[];
    const seen: number[] = [];
    const variables: { after: string | null } = { after: null };
    type Page = {
      polls: {
        totalCount: number;
        pageInfo: { hasNextPage: boolean; endCursor: string | null };
        edges: { cursor: string; node: { id: string } }[];
      };
    };
    for (;;) {
      const { body } = await clients.objectLevel.graphql<Page>(
        'query ($after: String) { polls(first: 30, after: $after) { totalCount pageInfo { hasNextPage endCursor } edges { cursor node { id } } } }',
        variables,
      );
      const page = body.data?.polls;
      expect(page?.totalCount).toBe(visible.length);
      seen.push(...(page?.edges.map(({ node }) => Number(node.id)) ?? []));
      if (!page?.pageInfo.hasNextPage) break;
      expect(page.edges).toHaveLength(30);
      variables.after = page.pageInfo.endCursor;
    }
    expect(seen).toEqual(visible);
    const rootCount = await clients.root.graphql<{ polls: { totalCount: number } }>('{ polls { totalCount } }');
    expect(rootCount.body.data?.polls.totalCount).toBe(await em().count(Poll, {}));
  });

  it.each([
    ['polls(first: 0)', 'first'],
    ['polls(first: 201)', 'first'],
    ['polls(first: null)', undefined],
    ['polls(after: "not a cursor")', 'after'],
    ['polls(after: "")', undefined],
  ])('answers %s with BAD_USER_INPUT naming the argument, or a page', async (call, field) => {
    const { body } = await clients.root.graphql(`{ ${call} { totalCount } }`);
    if (field === undefined) expect(body.errors).toBeUndefined();
    else expect(body.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', validationErrors: [{ field }] });
  });

  it("shows a poll's choices to whoever may view the poll (the pollViewer policy), and nothing to others", async () => {
    const query = 'query ($id: ID!) { poll(id: $id) { question choices { text votes } } }';
    const granted = await clients.objectLevel.graphql<{ poll: { choices: { text: string }[] } }>(query, {
      id: polls[0],
    });
    expect(granted.body.errors).toBeUndefined();
    expect(granted.body.data?.poll.choices.length).toBeGreaterThan(0);
    const denied = await clients.objectLevel.graphql(query, { id: polls[1] });
    expect(denied.body.errors?.map((error) => error.extensions?.code)).toEqual([F]);
  });

  it('checks a field against the object it belongs to (object: PARENT), batched into one query', async () => {
    const manager = em();
    const objectLevel = await userId('objectLevel');
    for (const id of polls) await grantObjectPermission(manager, 'polls.view_poll', { userId: objectLevel }, id);
    await clients.objectLevel.graphql('{ polls { totalCount } }');
    statements.length = 0;
    await clients.objectLevel.graphql('{ polls(first: 200) { edges { node { id } } } }');
    const withoutNotes = statements.length;
    statements.length = 0;
    const { body } = await clients.objectLevel.graphql<{
      polls: { edges: { node: { id: string; editNote: string | null } }[] };
    }>('{ polls(first: 200) { edges { node { id editNote } } } }');
    // However many polls are listed, their editNote checks are one more query (change_poll grants), not one each.
    expect(statements.length).toBe(withoutNotes + 1);
    const nodes = body.data?.polls.edges.map(({ node }) => node) ?? [];
    expect(nodes.length).toBeGreaterThan(2);
    const notes = Object.fromEntries(nodes.map((poll) => [Number(poll.id), poll.editNote]));
    expect(notes[polls[0] ?? 0]).toBe('you may edit this poll'); // change_poll granted on this one
    expect(notes[polls[1] ?? 0]).toBeNull();
    // One error for the coordinate, standing for every poll it was denied on.
    expect(
      body.errors?.map((error) => [error.path?.join('.'), error.extensions?.code, error.extensions?.pathCount]),
    ).toEqual([[expect.stringMatching(/^polls\.edges\.\d+\.node\.editNote$/), F, nodes.length - 1]]);
    const everything = await clients.root.graphql('{ polls { edges { node { editNote } } } }');
    expect(everything.body.errors).toBeUndefined();
  });

  it('adds a choice only to a poll the user may view: NOT_FOUND otherwise, as for no such poll', async () => {
    const manager = em();
    const created = await createAuth(app.config).users.createUser(manager, { username: 'chooser', password: PASSWORD });
    const user = await manager.findOneOrFail(User, created.id, { populate: ['userPermissions'] });
    user.userPermissions.add(await perm('polls.add_choice'));
    await manager.flush();
    const seen = await newPoll('Seen by chooser');
    await grantObjectPermission(em(), 'polls.view_poll', { userId: created.id }, seen);
    const unseen = await newPoll('Not seen by chooser');
    const chooser = await loggedInClient(app.url, 'chooser', PASSWORD);
    const add = async (pollId: number | string) => {
      const { body } = await chooser.graphql('mutation ($id: ID!) { addChoice(pollId: $id, text: "Maybe") { text } }', {
        id: String(pollId),
      });
      return body.errors ? body.errors[0]?.extensions?.code : body.data;
    };
    expect(await add(seen)).toEqual({ addChoice: { text: 'Maybe' } });
    expect([await add(unseen), await add(999_999)]).toEqual(['NOT_FOUND', 'NOT_FOUND']);
    expect(await em().count(Choice, { poll: unseen })).toBe(0);
  });

  it('validates input: BAD_USER_INPUT naming the field, nothing written', async () => {
    const before = await em().count(Poll, {});
    const { body } = await clients.root.graphql(
      'mutation { createPoll(question: "ok?", choices: ["fine", "  "]) { id } }',
    );
    expect(body.errors?.[0]?.extensions).toMatchObject({
      code: 'BAD_USER_INPUT',
      validationErrors: [{ field: 'choices[1]', code: 'required' }],
    });
    const long = await clients.root.graphql('mutation ($q: String!) { createPoll(question: $q) { id } }', {
      q: 'x'.repeat(201),
    });
    expect(long.body.errors?.[0]?.extensions?.validationErrors).toEqual([
      expect.objectContaining({ field: 'question', code: 'max_length' }),
    ]);
    const badId = await clients.root.graphql('{ poll(id: "abc") { id } }');
    expect(badId.body.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    const missing = await clients.root.graphql('mutation { updatePoll(id: "99999", question: "?") { id } }');
    expect(missing.body.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
    expect(await em().count(Poll, {})).toBe(before);
  });
});
