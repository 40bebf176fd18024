/**
 * What each directive answers, in process with graphql() and a fake authorization (the directives depend on that
 * interface only): one row per kind of user, whole results compared. The same rules run over HTTP against the real
 * authorization in test/graphql/directives.test.ts.
 */
import { describe, expect, it } from '@jest/globals';
import {
  ALICE,
  ROOT,
  asJson,
  guardedSchema,
  runGuarded,
  type FakeContext,
  type Holdings,
} from '../../../test/support/fake-authorization.js';
import type { Policies, PolicyRequest } from './index.js';

const ANONYMOUS: Holdings = { user: null };
const NOBODY: Holdings = { user: ALICE };
const SUPERUSER: Holdings = { user: ROOT };
const U = { code: 'UNAUTHENTICATED' };
const F = { code: 'FORBIDDEN' };

describe('@public, @auth and @hasPerm on root fields', () => {
  const ran: string[] = [];
  const schema = guardedSchema(
    `type Query {
       open: String @public
       mine: String @auth
       one: String @hasPerm(perm: "app.view_x")
       all: String @hasPerm(allOf: ["app.view_x", "app.add_x"])
       any: String @hasPerm(anyOf: ["app.view_x", "app.add_x"])
     }
     type Mutation { wipe: Boolean @hasPerm(perm: "app.delete_x") }`,
    {
      Query: { open: () => 'open', mine: () => 'mine', one: () => 'one', all: () => 'all', any: () => 'any' },
      Mutation: { wipe: () => ran.push('wipe') > 0 },
    },
  );
  const answer = async (field: string, as: Holdings) => {
    const result = await runGuarded({ schema, query: `{ ${field} }`, as });
    return result.errors?.[0]?.extensions.code ?? (result.data as Record<string, unknown>)[field];
  };
  const VIEWER = { user: ALICE, perms: ['app.view_x'] };
  const ADDER = { user: ALICE, perms: ['app.add_x'] };
  const BOTH = { user: ALICE, perms: ['app.view_x', 'app.add_x'] };

  it.each([
    // field, anonymous, nobody, viewer, adder, both, superuser
    ['open', 'open', 'open', 'open', 'open', 'open', 'open'],
    ['mine', 'UNAUTHENTICATED', 'mine', 'mine', 'mine', 'mine', 'mine'],
    ['one', 'UNAUTHENTICATED', 'FORBIDDEN', 'one', 'FORBIDDEN', 'one', 'one'],
    ['all', 'UNAUTHENTICATED', 'FORBIDDEN', 'FORBIDDEN', 'FORBIDDEN', 'all', 'all'],
    ['any', 'UNAUTHENTICATED', 'FORBIDDEN', 'any', 'any', 'any', 'any'],
  ])('%s answers anonymous, nobody, viewer, adder, both, superuser as expected', async (field, ...expected) => {
    const got = [];
    for (const as of [ANONYMOUS, NOBODY, VIEWER, ADDER, BOTH, SUPERUSER]) got.push(await answer(field, as));
    expect(got).toEqual(expected);
  });

  it('never runs a denied resolver', async () => {
    const denied = await runGuarded({ schema, query: 'mutation { wipe }', as: BOTH });
    expect(asJson(denied)).toEqual({
      data: { wipe: null },
      errors: [{ message: 'You do not have permission to do this.', path: ['wipe'], extensions: F }],
    });
    expect(ran).toEqual([]);
    await runGuarded({ schema, query: 'mutation { wipe }', as: SUPERUSER });
    expect(ran).toEqual(['wipe']);
  });
});

describe('@auth(recent) and @auth(stepUp): a recent authentication (step-up)', () => {
  const schema = guardedSchema(
    `type Query { open: String @public }
     type Mutation {
       rotate: Boolean @auth(recent: 300)
       grant: Boolean @hasPerm(perm: "app.change_x") @auth(stepUp: true)
     }`,
    { Mutation: { rotate: () => true, grant: () => true } },
  );
  const answer = async (field: string, as: Holdings) => {
    const result = await runGuarded({ schema, query: `mutation { ${field} }`, as });
    return result.errors?.[0]?.extensions ?? (result.data as Record<string, unknown>)[field];
  };
  const again = (maxAgeSeconds: number) => ({ code: 'REAUTHENTICATION_REQUIRED', maxAgeSeconds });

  it('answers REAUTHENTICATION_REQUIRED, with the age it accepts, when the last authentication is older', async () => {
    const got = [];
    for (const authenticatedSecondsAgo of [0, 300, 301, undefined])
      got.push(
        await answer('rotate', {
          user: ALICE,
          ...(authenticatedSecondsAgo === undefined ? {} : { authenticatedSecondsAgo }),
        }),
      );
    // Unknown is not recent. (The server answers an access token SESSION_REQUIRED before: it could never reauthenticate.)
    expect(got).toEqual([true, true, again(300), again(300)]);
    expect(await answer('rotate', ANONYMOUS)).toEqual(U);
  });

  it("takes stepUp's age from the authorization (STEP_UP_MAX_AGE), and asks it only of who holds the rest", async () => {
    const holder = { user: ALICE, perms: ['app.change_x'] };
    expect(await answer('grant', { ...holder, authenticatedSecondsAgo: 600 })).toBe(true);
    expect(await answer('grant', { ...holder, authenticatedSecondsAgo: 601 })).toEqual(again(600));
    const stranger = await runGuarded({
      schema,
      query: 'mutation { grant }',
      as: { user: ALICE, authenticatedSecondsAgo: 9999 },
    });
    expect(stranger.errors?.[0]?.extensions).toEqual(F);
    expect(stranger.authorization.asked).toEqual(['hasPerm app.change_x']);
  });
});

describe('guards on types', () => {
  const schema = guardedSchema(
    `type Report @hasPerm(perm: "app.view_report") { title: String!, salary: Int @hasPerm(perm: "hr.view_salary") }
     type Wrapper @public { report: Report!, note: String }
     type Query { report: Report @public, wrapper: Wrapper @public, reports: [Report!]! @public }`,
    {
      Query: {
        report: () => ({ title: 'Q4', salary: 100 }),
        wrapper: () => ({ report: { title: 'Q4', salary: 100 }, note: 'kept' }),
        reports: () => Array.from({ length: 5 }, (_item, index) => ({ title: `Q${index}`, salary: index })),
      },
    },
  );

  it("apply to every field, and a field's own guard adds to its type's", async () => {
    const viewer = await runGuarded({
      schema,
      query: '{ report { title salary } }',
      as: { user: ALICE, perms: ['app.view_report'] },
    });
    expect(asJson(viewer)).toEqual({
      data: { report: { title: 'Q4', salary: null } },
      errors: [{ message: 'You do not have permission to do this.', path: ['report', 'salary'], extensions: F }],
    });
    const both = await runGuarded({
      schema,
      query: '{ report { title salary } }',
      as: { user: ALICE, perms: ['app.view_report', 'hr.view_salary'] },
    });
    expect(asJson(both)).toEqual({ data: { report: { title: 'Q4', salary: 100 } } });
  });

  it('null a denied non-null field up to its nearest nullable parent, and keep the rest', async () => {
    const result = await runGuarded({ schema, query: '{ wrapper { note report { title } } }', as: NOBODY });
    expect(asJson(result)).toEqual({
      data: { wrapper: null },
      errors: [
        { message: 'You do not have permission to do this.', path: ['wrapper', 'report', 'title'], extensions: F },
      ],
    });
  });

  it('are checked once per object, however many of its fields are read', async () => {
    const result = await runGuarded({
      schema,
      query: '{ reports { title t2: title t3: title } }',
      as: { user: ALICE, perms: ['app.view_report'] },
    });
    expect(result.errors).toBeUndefined();
    expect(result.authorization.asked).toEqual(Array(5).fill('hasPerm app.view_report'));
  });
});

describe('object-level @hasPerm', () => {
  const polls = [{ id: 41 }, { id: 42 }, { id: 43 }];
  const schema = guardedSchema(
    `type Poll @model(name: "polls.poll") @auth {
       id: ID!
       editNote: String @hasPerm(perm: "polls.change_poll", object: PARENT)
       choices: [Choice!]!
     }
     type Choice @model(name: "polls.choice") @auth {
       id: ID!
       tally: Int @hasPerm(perm: "polls.view_choice", object: PARENT)
     }
     type Thing @model(name: "things.thing", key: "code") @auth { code: String! }
     type PollEdge @auth { cursor: String!, node: Poll! }
     type PollConnection @auth { totalCount: Int!, edges: [PollEdge!]! }
     input PollChange { id: ID, question: String }
     type Query {
       poll(id: ID!): Poll @hasPerm(perm: "polls.view_poll", objectArg: "id")
       polls: [Poll!]! @hasPerm(perm: "polls.view_poll", object: RESULT)
       firstPoll: Poll @hasPerm(perm: "polls.view_poll", object: RESULT)
       connection(scoped: Boolean!): PollConnection @hasPerm(perm: "polls.view_poll", object: RESULT)
       things: [Thing!]! @hasPerm(perm: "things.view_thing", object: RESULT)
     }
     type Mutation { change(input: PollChange!): Boolean @hasPerm(perm: "polls.change_poll", objectArg: "input.id") }`,
    {
      Query: {
        poll: (_source: unknown, { id }: { id: string }) => ({
          id: Number(id),
          choices: [{ id: Number(id), tally: 9 }],
        }),
        polls: () => polls.map((poll) => ({ ...poll, choices: [] })),
        firstPoll: () => ({ id: 41, choices: [] }),
        // What a scoped query would return for the user holding view_poll on 42 only, or the whole table.
        connection: (_source: unknown, { scoped }: { scoped: boolean }) => {
          const nodes = scoped ? [{ id: 42, choices: [] }] : polls.map((poll) => ({ ...poll, choices: [] }));
          return { totalCount: nodes.length, edges: nodes.map((node) => ({ cursor: String(node.id), node })) };
        },
        things: () => [{ code: 'a' }, { code: 'b' }],
      },
      Poll: { editNote: () => 'you may edit' },
      Mutation: { change: () => true },
    },
  );
  const GRANTEE: Holdings = {
    user: ALICE,
    grants: ['polls.view_poll polls.poll 42', 'polls.change_poll polls.poll 42', 'things.view_thing things.thing b'],
  };
  const run = (query: string, as: Holdings, variables?: Record<string, unknown>) =>
    runGuarded({ schema, query, as, ...(variables ? { variables } : {}) });

  it('objectArg: the object named by an argument, or by a field of an input object', async () => {
    expect((await run('{ poll(id: "42") { id } }', GRANTEE)).data).toEqual({ poll: { id: '42' } });
    expect(asJson(await run('{ poll(id: "41") { id } }', GRANTEE)).errors).toEqual([
      { message: 'You do not have permission to do this.', path: ['poll'], extensions: F },
    ]);
    expect((await run('mutation { change(input: { id: "42" }) }', GRANTEE)).data).toEqual({ change: true });
    const other = await run('mutation { change(input: { id: "41" }) }', GRANTEE);
    expect(other.errors?.[0]?.extensions.code).toBe('FORBIDDEN');
    // The id is looked up, not the model level guessed from an input object.
    expect(other.authorization.asked).toEqual(['permittedKeys polls.change_poll (its own model) [41]']);
    // No id at all: only the model level allows it.
    expect((await run('mutation { change(input: { question: "?" }) }', GRANTEE)).errors?.[0]?.extensions.code).toBe(
      'FORBIDDEN',
    );
    expect((await run('mutation { change(input: {}) }', { user: ALICE, perms: ['polls.change_poll'] })).data).toEqual({
      change: true,
    });
  });

  it("object: PARENT asks about the parent's model: a grant on poll 42 does not open choice 42", async () => {
    const query = '{ poll(id: "42") { editNote choices { id tally } } }';
    const result = await run(query, {
      user: ALICE,
      grants: ['polls.view_poll polls.poll 42', 'polls.change_poll polls.poll 42', 'polls.view_choice polls.poll 42'],
    });
    expect(asJson(result)).toEqual({
      data: { poll: { editNote: 'you may edit', choices: [{ id: '42', tally: null }] } },
      errors: [
        { message: 'You do not have permission to do this.', path: ['poll', 'choices', 0, 'tally'], extensions: F },
      ],
    });
    expect(result.authorization.asked).toContain('permittedKeys polls.view_choice polls.choice [42]');
    const choiceGrant = await run(query, {
      user: ALICE,
      grants: ['polls.view_poll polls.poll 42', 'polls.view_choice polls.choice 42'],
    });
    expect((choiceGrant.data as { poll: { choices: { tally: number }[] } }).poll.choices[0]?.tally).toBe(9);
  });

  it('object: RESULT filters a list, denies a single object, and checks a page', async () => {
    expect((await run('{ polls { id } }', GRANTEE)).data).toEqual({ polls: [{ id: '42' }] });
    expect((await run('{ polls { id } }', SUPERUSER)).data).toEqual({
      polls: polls.map(({ id }) => ({ id: String(id) })),
    });
    expect((await run('{ polls { id } }', ANONYMOUS)).errors?.[0]?.extensions.code).toBe('UNAUTHENTICATED');
    expect(asJson(await run('{ firstPoll { id } }', GRANTEE))).toEqual({
      data: { firstPoll: null },
      errors: [{ message: 'You do not have permission to do this.', path: ['firstPoll'], extensions: F }],
    });
    const page = '{ connection(scoped: true) { totalCount edges { node { id } } } }';
    expect((await run(page, GRANTEE)).data).toEqual({ connection: { totalCount: 1, edges: [{ node: { id: '42' } }] } });
    const everything = '{ connection(scoped: false) { totalCount edges { node { id } } } }';
    expect((await run(everything, SUPERUSER)).data).toEqual({
      connection: { totalCount: 3, edges: polls.map(({ id }) => ({ node: { id: String(id) } })) },
    });
  });

  it('refuses a page that holds objects the user may not see: its count and cursors would tell of them', async () => {
    const result = await run('{ connection(scoped: false) { totalCount edges { node { id } } } }', GRANTEE);
    expect(result.data).toEqual({ connection: null });
    expect(result.errors?.map((error) => error.message)).toEqual([
      'Query.connection: the page holds polls.poll objects the user may not see (polls.view_poll); filter its query with the object permission scope (a page cannot be filtered once cut: its counts and cursors would tell)',
    ]);
  });

  it('reads the key @model names (key: "code"), for superusers and grantees alike', async () => {
    expect((await run('{ things { code } }', SUPERUSER)).data).toEqual({ things: [{ code: 'a' }, { code: 'b' }] });
    expect((await run('{ things { code } }', GRANTEE)).data).toEqual({ things: [{ code: 'b' }] });
  });

  it('asks about the objects of a whole list at once', async () => {
    const result = await run('{ polls { id editNote } }', SUPERUSER);
    expect(result.authorization.asked).toEqual([
      'permittedKeys polls.view_poll polls.poll [41,42,43]',
      ...polls.map(({ id }) => `permittedKeys polls.change_poll polls.poll [${id}]`),
    ]);
  });
});

describe('@policy', () => {
  const seen: PolicyRequest<FakeContext>[] = [];
  const batches: number[] = [];
  const policies: Policies<FakeContext> = {
    isStaff: { description: 'staff', check: ({ user }) => user?.isStaff === true },
    isAuthor: {
      description: 'the author',
      check: async (request) => {
        seen.push(request);
        await Promise.resolve();
        return (request.parent as { authorId: unknown }).authorId === request.user?.id;
      },
    },
    // Batched: one call for every check of one tick.
    inTeam: {
      description: 'a team member',
      batch: (requests) => {
        batches.push(requests.length);
        return Promise.resolve(requests.map(({ parent }) => (parent as { team: string }).team === 'red'));
      },
    },
    careless: { description: 'forgets to answer', check: () => undefined as unknown as boolean },
    broken: {
      description: 'throws',
      check: () => {
        throw new Error('the policy failed');
      },
    },
    openToAll: { description: 'anyone, anonymous too', check: () => true },
  };
  const schema = guardedSchema(
    `type Doc @policy(name: "isAuthor") { title: String, authorId: ID, body: String }
     type Member @policy(name: "inTeam") { name: String }
     type Query {
       admin: String @policy(name: "isStaff")
       docs: [Doc!]! @auth
       members: [Member!]! @auth
       careless: String @policy(name: "careless")
       broken: String @policy(name: "broken")
       open: String @policy(name: "openToAll")
       argued(flag: Boolean): String @policy(name: "isAuthor")
     }`,
    {
      Query: {
        admin: () => 'admin',
        docs: () => [
          { title: 'mine', authorId: 1, body: 'a' },
          { title: 'theirs', authorId: 7, body: 'b' },
        ],
        members: () => ['red', 'blue', 'red'].map((team, index) => ({ name: `m${index}`, team })),
        careless: () => 'x',
        broken: () => 'x',
        open: () => 'open',
        argued: () => 'argued',
      },
    },
    policies,
  );

  it('answers allow or deny: UNAUTHENTICATED to anonymous requests, FORBIDDEN to others', async () => {
    expect((await runGuarded({ schema, query: '{ admin }', as: { user: { ...ALICE, isStaff: true } } })).data).toEqual({
      admin: 'admin',
    });
    expect((await runGuarded({ schema, query: '{ admin }', as: NOBODY })).errors?.[0]?.extensions).toEqual(F);
    expect((await runGuarded({ schema, query: '{ admin }', as: ANONYMOUS })).errors?.[0]?.extensions).toEqual(U);
    expect((await runGuarded({ schema, query: '{ open }', as: ANONYMOUS })).data).toEqual({ open: 'open' });
  });

  it('on a type: each object is judged with the object as its parent, once however many fields are read', async () => {
    seen.length = 0;
    const result = await runGuarded({ schema, query: '{ docs { title body } }', as: NOBODY });
    expect(asJson(result)).toEqual({
      data: {
        docs: [
          { title: 'mine', body: 'a' },
          { title: null, body: null },
        ],
      },
      errors: [
        { message: 'You do not have permission to do this.', path: ['docs', 1, 'title'], extensions: F },
        { message: 'You do not have permission to do this.', path: ['docs', 1, 'body'], extensions: F },
      ],
    });
    expect(seen.map(({ parent, args }) => [(parent as { title: string }).title, args])).toEqual([
      ['mine', {}],
      ['theirs', {}],
    ]);
  });

  it("on a field: gets the field's arguments", async () => {
    seen.length = 0;
    await runGuarded({ schema, query: '{ argued(flag: true) }', as: NOBODY });
    expect(seen.map(({ args }) => args)).toEqual([{ flag: true }]);
  });

  it('batched: the checks of one list reach the policy at once', async () => {
    batches.length = 0;
    const result = await runGuarded({ schema, query: '{ members { name } }', as: NOBODY });
    expect(result.data).toEqual({ members: [{ name: 'm0' }, { name: null }, { name: 'm2' }] });
    expect(batches).toEqual([3]);
  });

  it('denies unless the answer is true, and a policy that throws fails the field, not quietly', async () => {
    expect((await runGuarded({ schema, query: '{ careless }', as: SUPERUSER })).errors?.[0]?.extensions).toEqual(F);
    const broken = await runGuarded({ schema, query: '{ broken }', as: SUPERUSER });
    expect(broken.errors?.map((error) => [error.message, error.extensions.code])).toEqual([
      ['the policy failed', undefined],
    ]);
  });
});
