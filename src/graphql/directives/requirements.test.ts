/**
 * What the directives refuse when the schema is assembled: every field reachable from a root must have a decided
 * policy (fail closed), and no directive may be malformed, misplaced or name what does not exist. Each problem is
 * one line naming its coordinate. In process: no server, no database.
 */
import { describe, expect, it } from '@jest/globals';
import { ALICE, guardedSchema, runGuarded } from '../../../test/support/fake-authorization.js';
import { SchemaGuardError, fieldsOutsidePublic, repeatedGuards } from './index.js';

/** The problems the directives report for this SDL, or [] when they accept it. */
function problems(sdl: string, policies: string[] = []): readonly string[] {
  try {
    guardedSchema(
      sdl,
      {},
      Object.fromEntries(policies.map((name) => [name, { description: name, check: () => true }])),
    );
    return [];
  } catch (error) {
    if (error instanceof SchemaGuardError) return error.problems;
    throw error;
  }
}

const UNDECIDED = (coordinate: string, type: string) =>
  `${coordinate}: no @auth, @hasPerm, @policy or @public on the field or on ${type} (every field reachable from Query, Mutation or Subscription must say who may read it)`;

describe('fail closed on every reachable field', () => {
  it('refuses a field added to a guarded root whose type nobody decided about (the lastInvoice finding)', () => {
    expect(
      problems(`
        type Invoice { total: Int, paid: Boolean }
        type User @auth { id: ID!, lastInvoice: Invoice }
        type Query { me: User @public }
      `),
    ).toEqual([UNDECIDED('Invoice.paid', 'Invoice'), UNDECIDED('Invoice.total', 'Invoice')]);
  });

  it('takes a type-level guard for every field, or a guard on each field, and lists each undecided field', () => {
    expect(
      problems(`
        type Invoice @hasPerm(perm: "billing.view_invoice") { total: Int, paid: Boolean }
        type Receipt { number: Int @auth, note: String @public, amount: Int }
        type Query { invoice: Invoice @auth, receipt: Receipt @auth, open: String }
      `),
    ).toEqual([UNDECIDED('Query.open', 'Query'), UNDECIDED('Receipt.amount', 'Receipt')]);
  });

  it('follows interfaces and unions to the types behind them; unreachable types need nothing', () => {
    expect(
      problems(`
        interface Node { id: ID! }
        type Poll implements Node @auth { id: ID! }
        type Secret implements Node { id: ID! }
        type Orphan { anything: String }
        union Found = Poll | Hit
        type Hit { score: Int }
        type Query { node: Node @auth, search: [Found!]! @auth }
      `),
    ).toEqual([UNDECIDED('Hit.score', 'Hit'), UNDECIDED('Secret.id', 'Secret')]);
  });

  it('counts @public on a type, and refuses a field of it that would require more', () => {
    expect(problems('type Info @public { version: String } type Query { info: Info @public }')).toEqual([]);
    expect(
      problems('type Info @public { version: String, secret: String @auth } type Query { info: Info @public }'),
    ).toEqual([
      'Info.secret: Info is @public, so none of its fields may require more (guard the fields of Info one by one instead)',
    ]);
  });

  it('refuses @public that contradicts a guard on its type or beside it', () => {
    expect(problems('type Report @auth { title: String @public } type Query { report: Report @public }')).toEqual([
      'Report.title: @public contradicts the directive on Report',
    ]);
    expect(problems('type Query { x: String @public @auth }')).toEqual([
      "Query.x: @public contradicts the field's other directives",
    ]);
    expect(problems('type Report @public @auth { title: String } type Query { report: Report @public }')).toEqual([
      "Report: @public contradicts the type's other directives",
    ]);
  });

  it('refuses directives on interface fields, where they would protect nothing', () => {
    expect(
      problems(`
        interface Node { id: ID! @auth }
        type Thing implements Node @auth { id: ID! }
        type Query { thing: Thing @public }
      `),
    ).toEqual([
      'Node.id: directives on interface fields take no effect; put them on the fields of the types that implement Node',
    ]);
  });
});

describe('@hasPerm', () => {
  it.each([
    ['@hasPerm', '@hasPerm takes exactly one of perm, allOf, anyOf'],
    ['@hasPerm(perm: "auth.view_user", anyOf: ["auth.add_user"])', '@hasPerm takes exactly one of perm, allOf, anyOf'],
    ['@hasPerm(allOf: [])', '@hasPerm names no permission'],
    ['@hasPerm(perm: "view_user")', '@hasPerm names "view_user", not app_label.codename'],
    ['@hasPerm(anyOf: ["auth.view_user", "auth view"])', '@hasPerm names "auth view", not app_label.codename'],
    [
      '@hasPerm(anyOf: ["auth.view_user"], objectArg: "id")',
      '@hasPerm at object level takes perm (one permission), not allOf or anyOf',
    ],
    ['@hasPerm(perm: "auth.view_user", objectArg: "nope")', '@hasPerm(objectArg: "nope") names no argument'],
    [
      '@hasPerm(perm: "auth.view_user", object: PARENT, objectArg: "id")',
      '@hasPerm takes object or objectArg, not both',
    ],
    [
      '@hasPerm(perm: "auth.view_user", objectArg: "input")',
      '@hasPerm(objectArg: "input") names an input object, not an id: name the id inside it (objectArg: "input.id")',
    ],
    [
      '@hasPerm(perm: "auth.view_user", objectArg: "input.nope")',
      '@hasPerm(objectArg: "input.nope") names no field nope of Change',
    ],
    [
      '@hasPerm(perm: "auth.view_user", objectArg: "id.deeper")',
      '@hasPerm(objectArg: "id.deeper"): id is not an input object',
    ],
    [
      '@hasPerm(perm: "auth.view_user", objectArg: "ids")',
      '@hasPerm(objectArg: "ids") names a [ID!], not one id (ID, Int or String)',
    ],
    [
      '@hasPerm(perm: "auth.view_user", object: PARENT)',
      '@hasPerm(object: PARENT) asks about a Query, which has no @model(name: "app_label.model") saying which model its objects are',
    ],
  ])('refuses Query.x %s', (directive, problem) => {
    expect(
      problems(
        `input Change { id: ID, note: String } type Query { x(id: ID, ids: [ID!], input: Change): String ${directive} }`,
      ),
    ).toEqual([`Query.x: ${problem}`]);
  });

  it('takes an id inside an input object (objectArg: "input.id")', () => {
    expect(
      problems(`
        input Change { id: ID!, question: String }
        type Mutation { change(input: Change!): Boolean @hasPerm(perm: "polls.change_poll", objectArg: "input.id") }
        type Query { x: Int @public }
      `),
    ).toEqual([]);
  });

  it.each([
    ['@hasPerm(perm: "polls.view_poll", objectArg: "id")', '@hasPerm(objectArg) belongs on a field, not on a type'],
    [
      '@hasPerm(perm: "polls.view_poll", object: RESULT)',
      '@hasPerm(object: RESULT) belongs on a field, not on a type (use PARENT)',
    ],
  ])('refuses type Poll %s', (directive, problem) => {
    expect(
      problems(`type Poll @model(name: "polls.poll") ${directive} { id: ID! } type Query { poll: Poll @public }`),
    ).toEqual([`Poll: ${problem}`]);
  });

  it('refuses object: RESULT on a mutation (it is checked after the resolver has run)', () => {
    expect(
      problems(`
        type Poll @model(name: "polls.poll") @auth { id: ID! }
        type Query { x: Int @public }
        type Mutation { wipe(id: ID!): Poll @hasPerm(perm: "polls.delete_poll", object: RESULT) }
      `),
    ).toEqual([
      'Mutation.wipe: @hasPerm(object: RESULT) is checked after the resolver runs; use objectArg on a Mutation field',
    ]);
  });
});

describe('object-level checks know the model of the object they ask about', () => {
  const POLLS = `
    type Poll @model(name: "polls.poll") @auth { id: ID!, choices: [Choice!]! }
    type Choice @model(name: "polls.choice") @auth { id: ID! }
  `;

  it('refuses object: PARENT on a type without @model, and a permission of another app', () => {
    expect(
      problems(`
        ${POLLS}
        type Note { text: String @hasPerm(perm: "polls.view_poll", object: PARENT) }
        extend type Choice { secret: String @hasPerm(perm: "auth.view_user", object: PARENT) }
        type Query { note: Note @auth, choice: Choice @auth }
      `),
    ).toEqual([
      'Choice.secret: @hasPerm(perm: "auth.view_user") is a permission of app auth, asked about a polls.choice: only superusers would ever hold it',
      'Note.text: @hasPerm(object: PARENT) asks about a Note, which has no @model(name: "app_label.model") saying which model its objects are',
    ]);
  });

  it('takes object: RESULT on an object, a list and a page (edges with nodes, or a list field) of a model', () => {
    expect(
      problems(`
        ${POLLS}
        type PageInfo @public { hasNextPage: Boolean! }
        type PollEdge @auth { cursor: String!, node: Poll! }
        type PollConnection @auth { totalCount: Int!, pageInfo: PageInfo!, edges: [PollEdge!]! }
        type PollPage @auth { items: [Poll!]!, total: Int! }
        type Query {
          one(id: ID!): Poll @hasPerm(perm: "polls.view_poll", object: RESULT)
          list: [Poll!]! @hasPerm(perm: "polls.view_poll", object: RESULT)
          connection: PollConnection! @hasPerm(perm: "polls.view_poll", object: RESULT)
          page: PollPage @hasPerm(perm: "polls.view_poll", object: RESULT)
        }
      `),
    ).toEqual([]);
  });

  it('refuses object: RESULT where it cannot find the objects, or they are of several models', () => {
    expect(
      problems(`
        ${POLLS}
        type Mixed @auth { polls: [Poll!]!, choices: [Choice!]! }
        type Query {
          text: String @hasPerm(perm: "polls.view_poll", object: RESULT)
          nested: [[Poll!]!] @hasPerm(perm: "polls.view_poll", object: RESULT)
          mixed: Mixed @hasPerm(perm: "polls.view_poll", object: RESULT)
        }
      `),
    ).toEqual([
      'Query.mixed: @hasPerm(object: RESULT): Mixed holds objects of several models (polls.choice, polls.poll)',
      'Query.nested: @hasPerm(object: RESULT) needs a type with @model, a list of one, or a page of one (a list field, or edges with a node); [[Poll!]!] is not',
      'Query.text: @hasPerm(object: RESULT) needs a type with @model, a list of one, or a page of one (a list field, or edges with a node); String is not',
    ]);
  });

  it('refuses a page whose objects a resolver of its own computes: they could not be checked', () => {
    expect(() =>
      guardedSchema(
        `${POLLS}
         type PollEdge @auth { node: Poll! }
         type PollConnection @auth { edges: [PollEdge!]! }
         type Query { polls: PollConnection @hasPerm(perm: "polls.view_poll", object: RESULT) }`,
        { PollConnection: { edges: () => [] } },
      ),
    ).toThrow(
      'Query.polls: @hasPerm(object: RESULT) checks the objects in PollConnection.edges, which has a resolver of its own: return them in the PollConnection object instead',
    );
  });

  it('refuses a malformed @model', () => {
    expect(
      problems('type Poll @model(name: "Poll", key: "no such") @auth { id: ID! } type Query { p: Poll @auth }'),
    ).toEqual([
      'Poll: @model(key: "no such") is not the name of a property',
      'Poll: @model(name: "Poll") is not app_label.model (e.g. "polls.poll")',
    ]);
  });
});

describe('@policy', () => {
  it('refuses a name no policy is registered under, listing the registered ones', () => {
    expect(problems('type Query { x: String @policy(name: "isAuthor") }', ['isStaff', 'isSelf'])).toEqual([
      'Query.x: @policy(name: "isAuthor") names no registered policy (registered: isSelf, isStaff)',
    ]);
    expect(problems('type Query { x: String @policy(name: "is staff") }', ['isStaff'])).toEqual([
      'Query.x: @policy(name: "is staff") is not a policy name',
    ]);
  });

  it('counts as a decided policy, on a field or a type', () => {
    expect(
      problems('type Doc @policy(name: "isAuthor") { body: String } type Query { doc: Doc @auth }', ['isAuthor']),
    ).toEqual([]);
  });
});

describe('guards repeated across a definition and its extensions', () => {
  it('are refused before merging, which would keep only the last', () => {
    expect(
      repeatedGuards([
        `type Report @hasPerm(perm: "auth.view_user") { title: String, pay: Int @policy(name: "a") }
         extend type Report @hasPerm(perm: "auth.change_user")
         extend type Report { pay: Int @policy(name: "b") }`,
      ]),
    ).toEqual([
      'Report.pay: @policy given 2 times (across its definition and extensions): the last would silently replace the others; write one (allOf / anyOf for several permissions)',
      'Report: @hasPerm given 2 times (across its definition and extensions): the last would silently replace the others; write one (allOf / anyOf for several permissions)',
    ]);
  });
});

describe('@public on a type', () => {
  it('opens only the fields written beside it: one an extend type adds elsewhere needs its own guard', () => {
    expect(
      fieldsOutsidePublic([
        'type ServerInfo @public { version: String } type Query { info: ServerInfo @public }',
        'extend type ServerInfo { adminNotes: String, uptime: Int @auth }',
        'extend type ServerInfo @public { build: String }',
      ]),
    ).toEqual([
      'ServerInfo.adminNotes: declared apart from the @public on ServerInfo, which opens only the fields written beside it: mark it @public too if it is meant to be (or put it on another type)',
    ]);
  });
});

describe('an accepted schema', () => {
  it('runs: the sanity check that the harness above would notice a schema that does not', async () => {
    const schema = guardedSchema('type Query { hello: String @auth }', { Query: { hello: () => 'hi' } });
    expect((await runGuarded({ schema, query: '{ hello }', as: { user: ALICE } })).data).toEqual({ hello: 'hi' });
  });
});

describe('@auth(recent) and @auth(stepUp)', () => {
  it('refuses an age that is no number of seconds, both arguments at once, and recent on a type', () => {
    expect(
      problems(`
        type Report @auth(recent: 60) { title: String }
        type Query {
          a: Report @auth(recent: 0)
          b: String @auth(recent: 60, stepUp: true)
          c: String @auth(recent: 60)
          d: String @auth(stepUp: true)
        }
      `),
    ).toEqual([
      'Query.a: @auth(recent: 0) is not a number of seconds (1 or more)',
      'Query.b: @auth takes recent or stepUp, not both',
      'Report: @auth(recent) belongs on a field, not on a type',
    ]);
  });
});
