/**
 * @auth, @hasPerm and @public: what the schema refuses at assembly (fail closed, misplaced or malformed
 * directives), and what each answers over HTTP to anonymous, unprivileged, privileged and superuser clients.
 */
import fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createAuth } from '../../src/auth/index.js';
import { Group } from '../../src/entities/group.js';
import { Permission } from '../../src/entities/permission.js';
import { User } from '../../src/entities/user.js';
import { SchemaGuardError } from '../../src/graphql/directives/index.js';
import { makeExecutableSchema } from '@graphql-tools/schema';
import { resolvers } from '../../src/graphql/resolvers/index.js';
import { buildSchema, loadTypeDefs, schemaManifest } from '../../src/graphql/schema.js';
import { sqlLogger } from '../support/sql-log.js';
import { pollsSchema } from '../support/polls.js';
import { createTestApp, type TestApp } from '../support/app.js';
import { CHEAP_HASHING } from '../support/auth.js';
import { HttpClient } from '../support/http-client.js';
import { spawnServer } from '../support/process.js';
import { loggedInClient } from '../support/sessions.js';

/** The problems buildSchema reports for these extra type definitions, or [] when it accepts them. */
function problems(typeDefs: string, resolvers: Record<string, Record<string, () => unknown>> = {}): readonly string[] {
  try {
    pollsSchema({ typeDefs: [typeDefs], resolvers: [resolvers] });
    return [];
  } catch (error) {
    if (error instanceof SchemaGuardError) return error.problems;
    throw error;
  }
}

// What the directives refuse is tested in process (src/graphql/directives/requirements.test.ts); here, that the
// server's own schema passes, and that buildSchema applies the same rules with the server's policies.
describe('schema assembly', () => {
  it("accepts the project's own schema", () => {
    expect(() => buildSchema()).not.toThrow();
  });

  it("refuses a field reachable from the server's types that nobody decided about (the lastInvoice finding)", () => {
    expect(problems('type Invoice { total: Int } extend type User { lastInvoice: Invoice }')).toEqual([
      'Invoice.total: no @auth, @hasPerm, @policy or @public on the field or on Invoice (every field reachable from Query, Mutation or Subscription must say who may read it)',
    ]);
  });

  it('refuses a field an extend type adds to a @public type without a guard of its own', () => {
    expect(problems('extend type ServerInfo { adminNotes: String }')).toEqual([
      'ServerInfo.adminNotes: declared apart from the @public on ServerInfo, which opens only the fields written beside it: mark it @public too if it is meant to be (or put it on another type)',
    ]);
    expect(problems('extend type ServerInfo { adminNotes: String @public }')).toEqual([]);
  });

  it("knows the server's policies, and refuses a name it does not know or one registered twice", () => {
    expect(problems('extend type Query { x: String @policy(name: "staff") }')).toEqual([]);
    expect(problems('extend type Query { x: String @policy(name: "isAuthor") }')).toEqual([
      'Query.x: @policy(name: "isAuthor") names no registered policy (registered: pollViewer, selfOrUserViewer, staff)',
    ]);
    expect(() => buildSchema({ policies: { staff: { description: 'mine', check: () => true } } })).toThrow(
      'policy "staff" is registered twice',
    );
  });

  it('refuses a guard given twice across a definition and its extensions (merging would keep only the last)', () => {
    expect(problems('extend type Poll @hasPerm(perm: "polls.change_poll", object: PARENT)')).toEqual([
      'Poll: @hasPerm given 2 times (across its definition and extensions): the last would silently replace the others; write one (allOf / anyOf for several permissions)',
    ]);
  });
});

describe('directives over HTTP', () => {
  let app: TestApp;
  /** How many times each guarded mutation's resolver ran. */
  const ran: Record<string, number> = {};
  const PASSWORD = 'a-long-enough-password-1';

  beforeAll(async () => {
    const count = (name: string) => () => {
      ran[name] = (ran[name] ?? 0) + 1;
      return true;
    };
    const schema = pollsSchema({
      typeDefs: [
        `type Report @hasPerm(perm: "auth.view_user") {
           title: String!
           salary: Int @hasPerm(perm: "auth.change_user")
         }
         type Wrapper @public { report: Report!, note: String }
         type Diary @auth { entry: String }
         extend type Query {
           open: String @public
           mine: String @auth
           canView: String @hasPerm(perm: "auth.view_user")
           canViewAndAdd: String @hasPerm(allOf: ["auth.view_user", "auth.add_user"])
           canViewOrAdd: String @hasPerm(anyOf: ["auth.view_user", "auth.add_user"])
           report: Report @public
           wrapper: Wrapper @public
           diary: Diary @public
         }
         extend type Mutation {
           sideEffect: Boolean @hasPerm(perm: "auth.delete_user")
           loggedInEffect: Boolean @auth
         }`,
      ],
      resolvers: [
        {
          Query: {
            open: () => 'open',
            mine: () => 'mine',
            canView: () => 'view',
            canViewAndAdd: () => 'view and add',
            canViewOrAdd: () => 'view or add',
            report: () => ({ title: 'Q4', salary: 100 }),
            wrapper: () => ({ report: { title: 'Q4', salary: 100 }, note: 'kept' }),
            diary: () => ({ entry: 'dear diary' }),
          },
          Mutation: { sideEffect: count('sideEffect'), loggedInEffect: count('loggedInEffect') },
        },
      ],
    });
    app = await createTestApp({ schema, env: CHEAP_HASHING });
    const auth = createAuth(app.config);
    const em = app.database.orm.em.fork();
    const perm = (codename: string) => em.findOneOrFail(Permission, { codename, contentType: { appLabel: 'auth' } });
    const make = (username: string, extra: Partial<{ isSuperuser: boolean; isActive: boolean }> = {}) =>
      auth.users.createUser(em, { username, password: PASSWORD, ...extra });
    await make('nobody');
    const viewer = await make('viewer');
    const adder = await make('adder');
    const both = await make('both');
    await make('root', { isSuperuser: true });
    const viewers = em.create(Group, { name: 'viewers' });
    viewers.permissions.add(await perm('view_user'));
    await em.flush();
    const load = (id: number) => em.findOneOrFail(User, id, { populate: ['groups', 'userPermissions'] });
    (await load(viewer.id)).groups.add(viewers); // through a group
    (await load(adder.id)).userPermissions.add(await perm('add_user')); // directly
    const bothUser = await load(both.id);
    bothUser.groups.add(viewers);
    bothUser.userPermissions.add(await perm('add_user'));
    await em.flush();
  });
  afterAll(() => app.stop());

  const as = (username: string | null) =>
    username ? loggedInClient(app.url, username, PASSWORD) : Promise.resolve(new HttpClient(app.url));
  /** The field's value, or its error code. */
  const answer = async (username: string | null, field: string) => {
    const { body } = await (await as(username)).graphql(`{ ${field} }`);
    return body.errors?.[0]?.extensions?.code ?? body.data?.[field];
  };

  it.each([
    // field, anonymous, nobody, viewer (group), adder (direct), both, superuser
    ['open', 'open', 'open', 'open', 'open', 'open', 'open'],
    ['mine', 'UNAUTHENTICATED', 'mine', 'mine', 'mine', 'mine', 'mine'],
    ['canView', 'UNAUTHENTICATED', 'FORBIDDEN', 'view', 'FORBIDDEN', 'view', 'view'],
    ['canViewAndAdd', 'UNAUTHENTICATED', 'FORBIDDEN', 'FORBIDDEN', 'FORBIDDEN', 'view and add', 'view and add'],
    ['canViewOrAdd', 'UNAUTHENTICATED', 'FORBIDDEN', 'view or add', 'view or add', 'view or add', 'view or add'],
  ])('%s answers anonymous, nobody, viewer, adder, both, superuser as expected', async (field, ...expected) => {
    const got = [];
    for (const username of [null, 'nobody', 'viewer', 'adder', 'both', 'root']) got.push(await answer(username, field));
    expect(got).toEqual(expected);
  });

  it('applies a type directive to every field, and a field directive on top of it', async () => {
    const query = '{ report { title salary } }';
    const viewer = await as('viewer');
    expect((await viewer.graphql(query)).body).toEqual({
      data: { report: { title: 'Q4', salary: null } },
      errors: [
        expect.objectContaining({
          path: ['report', 'salary'],
          extensions: { code: 'FORBIDDEN', requestId: expect.any(String) },
        }),
      ],
    });
    expect((await (await as('root')).graphql(query)).body).toEqual({ data: { report: { title: 'Q4', salary: 100 } } });
    const anonymous = (await (await as(null)).graphql(query)).body;
    // title is non-null: its error nulls the nullable parent, as GraphQL's rules say.
    expect(anonymous.data).toEqual({ report: null });
    expect(anonymous.errors?.map((error) => [error.path?.join('.'), error.extensions?.code]).sort()).toEqual([
      ['report.salary', 'UNAUTHENTICATED'],
      ['report.title', 'UNAUTHENTICATED'],
    ]);
  });

  it('applies @auth on a type to every field of it', async () => {
    const anonymous = (await (await as(null)).graphql('{ diary { entry } }')).body;
    expect(anonymous.data).toEqual({ diary: { entry: null } });
    expect(anonymous.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    expect((await (await as('nobody')).graphql('{ diary { entry } }')).body).toEqual({
      data: { diary: { entry: 'dear diary' } },
    });
  });

  it('keeps the rest of the response when a non-null guarded field is denied', async () => {
    const { body } = await (await as('nobody')).graphql('{ wrapper { note report { title } } open }');
    expect(body.data).toEqual({ wrapper: null, open: 'open' });
    expect(body.errors?.map((error) => [error.path, error.extensions?.code])).toEqual([
      [['wrapper', 'report', 'title'], 'FORBIDDEN'],
    ]);
  });

  it('never runs a denied resolver', async () => {
    const before = { ...ran };
    expect(
      (await (await as(null)).graphql('mutation { sideEffect loggedInEffect }')).body.errors?.map(
        (error) => error.extensions?.code,
      ),
    ).toEqual(['UNAUTHENTICATED', 'UNAUTHENTICATED']);
    expect((await (await as('both')).graphql('mutation { sideEffect }')).body.errors?.[0]?.extensions?.code).toBe(
      'FORBIDDEN',
    );
    expect(ran).toEqual(before);
    expect((await (await as('root')).graphql('mutation { sideEffect loggedInEffect }')).body.data).toEqual({
      sideEffect: true,
      loggedInEffect: true,
    });
    expect(ran).toEqual({ sideEffect: (before.sideEffect ?? 0) + 1, loggedInEffect: (before.loggedInEffect ?? 0) + 1 });
  });

  it('answers an inactive superuser as anonymous: its session cannot even start', async () => {
    const em = app.database.orm.em.fork();
    await createAuth(app.config).users.createUser(em, {
      username: 'retired',
      password: PASSWORD,
      isSuperuser: true,
      isActive: false,
    });
    await expect(as('retired')).rejects.toThrow(/INVALID_CREDENTIALS/);
  });

  it('denies the next request of an open session once a permission is revoked', async () => {
    const client = await as('adder');
    expect((await client.graphql('{ canViewOrAdd }')).body.data).toEqual({ canViewOrAdd: 'view or add' });
    const em = app.database.orm.em.fork();
    const adder = await em.findOneOrFail(User, { username: 'adder' }, { populate: ['userPermissions'] });
    adder.userPermissions.removeAll();
    await em.flush();
    expect((await client.graphql('{ canViewOrAdd }')).body.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
  });
});

describe('the cost of guarded lists', () => {
  let app: TestApp;
  const statements: string[] = [];

  beforeAll(async () => {
    const schema = pollsSchema({
      typeDefs: [
        `type Item @hasPerm(perm: "auth.view_user") {
           n: Int!
           double: Int! @hasPerm(anyOf: ["auth.view_user"])
           secret: Int @hasPerm(perm: "auth.delete_user")
         }
         extend type Query { items(count: Int!): [Item!]! @auth }`,
      ],
      resolvers: [
        {
          Query: {
            items: (_parent: unknown, { count }: { count: number }) =>
              Array.from({ length: count }, (_item, n) => ({ n, double: 2 * n, secret: n })),
          },
        },
      ],
    });
    const logger = sqlLogger(statements);
    app = await createTestApp({ schema, logger, env: CHEAP_HASHING });
    const em = app.database.orm.em.fork();
    const user = await createAuth(app.config).users.createUser(em, { username: 'viewer', password: 'viewer-pass-1' });
    const loaded = await em.findOneOrFail(User, user.id, { populate: ['userPermissions'] });
    loaded.userPermissions.add(
      await em.findOneOrFail(Permission, { codename: 'view_user', contentType: { appLabel: 'auth' } }),
    );
    await em.flush();
  });
  afterAll(() => app.stop());

  it('loads the permissions at most once per request, whether the list has 10 items or 1,000', async () => {
    const client = await loggedInClient(app.url, 'viewer', 'viewer-pass-1');
    const run = async (count: number) => {
      statements.length = 0;
      const { body } = await client.graphql<{ items: { n: number; double: number }[] }>(
        'query ($count: Int!) { items(count: $count) { n double } }',
        { count },
      );
      expect(body.errors).toBeUndefined();
      expect(body.data?.items).toHaveLength(count);
      return { total: statements.length, permissions: statements.filter((sql) => /auth_permission/.test(sql)).length };
    };
    // The first request loads them; the next finds them in the process's cache (same authorization version).
    const ten = await run(10);
    const thousand = await run(1000);
    expect(ten.permissions).toBe(1);
    expect(thousand).toEqual({ total: ten.total - 1, permissions: 0 });
  });

  it('answers one error, not 1,000, for a field denied in every item of a 1,000-item list', async () => {
    const client = await loggedInClient(app.url, 'viewer', 'viewer-pass-1');
    const { body } = await client.graphql<{ items: { n: number; secret: number | null }[] }>(
      '{ items(count: 1000) { n secret } }',
    );
    expect(body.errors).toEqual([
      {
        message: 'You do not have permission to do this.',
        locations: [{ line: 1, column: 26 }],
        path: ['items', 0, 'secret'],
        extensions: { code: 'FORBIDDEN', pathCount: 1000, requestId: expect.any(String) },
      },
    ]);
    expect(body.data?.items.filter((item) => item.secret === null)).toHaveLength(1000);
    // Measured before: 1,000 errors, 245 kB for a 27 kB answer.
    expect(Buffer.byteLength(JSON.stringify(body))).toBeLessThan(30_000);
  });
});

describe('a schema assembled without buildSchema', () => {
  it('is refused by the server: its directives would not be enforced', async () => {
    const schema = makeExecutableSchema({
      typeDefs: [...loadTypeDefs()],
      resolvers: [...resolvers],
    });
    await expect(createTestApp({ schema })).rejects.toMatchObject({
      name: 'SchemaGuardError',
      problems: ['the schema was not assembled by buildSchema(): its directives would not be enforced'],
    });
  });
});

describe('permissions named in the schema', () => {
  it('must all exist, or the server does not start: each unknown one listed with the fields naming it', async () => {
    const schema = pollsSchema({
      typeDefs: [
        `extend type Query {
           a: String @hasPerm(perm: "polls.view_pol")
           b: String @hasPerm(anyOf: ["auth.view_user", "polls.view_pol"])
           c: String @hasPerm(allOf: ["auth.view_user", "auht.add_user"])
           d(id: ID!): String @hasPerm(perm: "polls.view_pol", objectArg: "id")
         }`,
      ],
    });
    await expect(createTestApp({ schema })).rejects.toMatchObject({
      name: 'SchemaGuardError',
      problems: [
        '"auht.add_user" (Query.c) is not a known permission',
        '"polls.view_pol" (Query.a, Query.b, Query.d) is not a known permission',
      ],
    });
  });

  it("must be of the model of the objects they are asked about: a poll's grant never opens a choice", async () => {
    // On main before this check, a grant of polls.view_poll on poll 42 opened this field on choice 42.
    const schema = pollsSchema({
      typeDefs: ['extend type Choice { secret: String @hasPerm(perm: "polls.view_poll", object: PARENT) }'],
      resolvers: [{ Choice: { secret: () => 'secret' } }],
    });
    await expect(createTestApp({ schema })).rejects.toMatchObject({
      name: 'SchemaGuardError',
      problems: [
        'Choice.secret: "polls.view_poll" is a permission of polls.poll, asked about a polls.choice: a grant on one never opens the other (for "the polls.choice\'s polls.poll", write a @policy)',
      ],
    });
  });
});

describe('the permissions manifest', () => {
  it('is committed as schema/permissions.txt and up to date (run `npm run -s manage -- permissions`)', () => {
    const committed = fs.readFileSync(new URL('../../schema/permissions.txt', import.meta.url), 'utf8');
    expect(schemaManifest(buildSchema())).toBe(committed);
  });

  it("lists every reachable field with what it requires (its type's guards, then its own), one line each, sorted", () => {
    const manifest = schemaManifest(
      pollsSchema({
        typeDefs: [
          `type Report @hasPerm(perm: "auth.view_user") { title: String, pay: Int @hasPerm(anyOf: ["auth.change_user", "auth.add_user"]) }
           extend type Query { report: Report @auth, both: Int @hasPerm(allOf: ["auth.view_user", "auth.add_user"]) }
           extend type Poll { note: String @policy(name: "staff") }`,
        ],
        resolvers: [{ Poll: { note: () => '' } }],
      }),
    ).split('\n');
    expect(manifest).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^Query\.both +all of auth\.view_user, auth\.add_user$/),
        expect.stringMatching(/^Query\.report +logged in$/),
        expect.stringMatching(/^Report\.pay +auth\.view_user and any of auth\.change_user, auth\.add_user$/),
        expect.stringMatching(/^Report\.title +auth\.view_user$/),
        expect.stringMatching(/^Poll\.note +polls\.view_poll on the polls\.poll it belongs to and policy staff$/),
        expect.stringMatching(
          /^Query\.polls +polls\.view_poll on each polls\.poll of the page \(its query returns only those\)$/,
        ),
        expect.stringMatching(/^PageInfo\.hasNextPage +public$/),
      ]),
    );
    const coordinates = manifest.filter(Boolean).map((line) => line.split(' ')[0] ?? '');
    expect(coordinates).toEqual([...coordinates].sort());
  });

  it('is what `npm run manage -- permissions` prints; an unknown command exits 1 with the usage', async () => {
    const cli = spawnServer({}, { entry: 'src/cli/manage.ts', args: ['permissions'] });
    expect(await cli.exited).toBe(0);
    expect(`${cli.stdout.join('\n')}\n`).toBe(schemaManifest(buildSchema()));
    const wrong = spawnServer({}, { entry: 'src/cli/manage.ts', args: ['permisions'] });
    expect(await wrong.exited).toBe(1);
    expect(wrong.stderr[0]).toBe('error: unknown command "permisions"');
  });
});
