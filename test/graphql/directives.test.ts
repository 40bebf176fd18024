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
import { SchemaGuardError, permissionManifest } from '../../src/graphql/directives.js';
import { makeExecutableSchema } from '@graphql-tools/schema';
import { resolvers } from '../../src/graphql/resolvers/index.js';
import { buildSchema, loadTypeDefs } from '../../src/graphql/schema.js';
import { sqlLogger } from '../support/sql-log.js';
import { createTestApp, type TestApp } from '../support/app.js';
import { CHEAP_HASHING } from '../support/auth.js';
import { HttpClient } from '../support/http-client.js';
import { spawnServer } from '../support/process.js';
import { loggedInClient } from '../support/sessions.js';

/** The problems buildSchema reports for these extra type definitions, or [] when it accepts them. */
function problems(typeDefs: string, resolvers: Record<string, Record<string, () => unknown>> = {}): readonly string[] {
  try {
    buildSchema({ typeDefs: [typeDefs], resolvers: [resolvers] });
    return [];
  } catch (error) {
    if (error instanceof SchemaGuardError) return error.problems;
    throw error;
  }
}

describe('schema assembly', () => {
  it("accepts the project's own schema", () => {
    expect(() => buildSchema()).not.toThrow();
  });

  it('refuses every unguarded root field, listed as Type.field', () => {
    expect(
      problems(`
        extend type Query { open: String, guarded: String @auth, alsoOpen: Int }
        extend type Mutation { doIt: Boolean }
        type Subscription { ticks: Int }
      `),
    ).toEqual([
      'Mutation.doIt: no @auth, @hasPerm or @public (every root field must say who may run it)',
      'Query.alsoOpen: no @auth, @hasPerm or @public (every root field must say who may run it)',
      'Query.open: no @auth, @hasPerm or @public (every root field must say who may run it)',
      'Subscription.ticks: no @auth, @hasPerm or @public (every root field must say who may run it)',
    ]);
  });

  it('counts a directive on the root type itself as guarding its fields', () => {
    expect(problems('type Subscription @auth { ticks: Int, tocks: Int @hasPerm(perm: "auth.view_user") }')).toEqual([]);
  });

  it('refuses directives on interface fields, naming the coordinate', () => {
    expect(
      problems(`
        interface Node { id: ID! @auth, secret: String @hasPerm(perm: "auth.view_user") }
        type Thing implements Node { id: ID!, secret: String }
        extend type Query { thing: Thing @public }
      `),
    ).toEqual([
      'Node.id: directives on interface fields take no effect; put them on the fields of the types that implement Node',
      'Node.secret: directives on interface fields take no effect; put them on the fields of the types that implement Node',
    ]);
  });

  it.each([
    ['@hasPerm', '@hasPerm takes exactly one of perm, allOf, anyOf'],
    ['@hasPerm(perm: "auth.view_user", anyOf: ["auth.add_user"])', '@hasPerm takes exactly one of perm, allOf, anyOf'],
    ['@hasPerm(allOf: [])', '@hasPerm names no permission'],
    ['@hasPerm(perm: "view_user")', '@hasPerm names "view_user", not app_label.codename'],
    ['@hasPerm(anyOf: ["auth.view_user", "auth view"])', '@hasPerm names "auth view", not app_label.codename'],
    ['@public @auth', "@public contradicts the field's other directives"],
    [
      '@hasPerm(anyOf: ["auth.view_user"], object: RESULT)',
      '@hasPerm at object level takes perm (one permission), not allOf or anyOf',
    ],
    ['@hasPerm(perm: "auth.view_user", objectArg: "nope")', '@hasPerm(objectArg: "nope") names no argument'],
    [
      '@hasPerm(perm: "auth.view_user", object: PARENT, objectArg: "id")',
      '@hasPerm takes object or objectArg, not both',
    ],
  ])('refuses Query.x %s', (directives, problem) => {
    expect(problems(`extend type Query { x(id: ID): String ${directives} }`)).toEqual([`Query.x: ${problem}`]);
  });

  it.each([
    ['@hasPerm(perm: "auth.view_user", objectArg: "id")', '@hasPerm(objectArg) belongs on a field, not on a type'],
    [
      '@hasPerm(perm: "auth.view_user", object: RESULT)',
      '@hasPerm(object: RESULT) belongs on a field, not on a type (use PARENT)',
    ],
  ])('refuses type Thing %s', (directive, problem) => {
    expect(problems(`type Thing ${directive} { id: ID! } extend type Query { thing: Thing @public }`)).toEqual([
      `Thing: ${problem}`,
    ]);
  });

  it('refuses a guard given twice across a definition and its extensions (merging would keep only the last)', () => {
    expect(
      problems(`
        type Report @hasPerm(perm: "auth.view_user") { title: String, pay: Int @hasPerm(perm: "auth.view_user") }
        extend type Report @hasPerm(perm: "auth.change_user")
        extend type Report { pay: Int @hasPerm(perm: "auth.add_user") }
        extend type Query { report: Report @public }
      `),
    ).toEqual([
      'Report.pay: @hasPerm given 2 times (across its definition and extensions): the last would silently replace the others; write one (allOf / anyOf for several permissions)',
      'Report: @hasPerm given 2 times (across its definition and extensions): the last would silently replace the others; write one (allOf / anyOf for several permissions)',
    ]);
  });

  it('refuses object: RESULT on a mutation (it is checked after the resolver has run)', () => {
    expect(
      problems('extend type Mutation { wipe(id: ID!): User @hasPerm(perm: "auth.delete_user", object: RESULT) }'),
    ).toEqual([
      'Mutation.wipe: @hasPerm(object: RESULT) is checked after the resolver runs; use objectArg on a Mutation field',
    ]);
  });

  it('refuses @public on a field of a guarded type', () => {
    expect(
      problems('type Report @auth { title: String @public } extend type Query { report: Report @public }'),
    ).toEqual(['Report.title: @public contradicts the directive on Report']);
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
    const schema = buildSchema({
      typeDefs: [
        `type Report @hasPerm(perm: "auth.view_user") {
           title: String!
           salary: Int @hasPerm(perm: "auth.change_user")
         }
         type Wrapper { report: Report!, note: String }
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
    const schema = buildSchema({
      typeDefs: [
        `type Item @hasPerm(perm: "auth.view_user") { n: Int!, double: Int! @hasPerm(anyOf: ["auth.view_user"]) }
         extend type Query { items(count: Int!): [Item!]! @auth }`,
      ],
      resolvers: [
        {
          Query: {
            items: (_parent: unknown, { count }: { count: number }) =>
              Array.from({ length: count }, (_item, n) => ({ n, double: 2 * n })),
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
    const schema = buildSchema({
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
});

describe('the permissions manifest', () => {
  it('is committed as schema/permissions.txt and up to date (run `npm run -s manage -- permissions`)', () => {
    const committed = fs.readFileSync(new URL('../../schema/permissions.txt', import.meta.url), 'utf8');
    expect(permissionManifest(buildSchema())).toBe(committed);
  });

  it('lists root fields and guarded fields with what they require, one line each, sorted', () => {
    const manifest = permissionManifest(
      buildSchema({
        typeDefs: [
          `type Report @hasPerm(perm: "auth.view_user") { title: String, pay: Int @hasPerm(anyOf: ["auth.change_user", "auth.add_user"]) }
           extend type Query { report: Report @auth, both: Int @hasPerm(allOf: ["auth.view_user", "auth.add_user"]) }`,
        ],
      }),
    ).split('\n');
    expect(manifest).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^Query\.both +all of auth\.view_user, auth\.add_user$/),
        expect.stringMatching(/^Query\.report +logged in$/),
        expect.stringMatching(/^Report\.pay +auth\.view_user and any of auth\.change_user, auth\.add_user$/),
        expect.stringMatching(/^Report\.title +auth\.view_user$/),
      ]),
    );
    const coordinates = manifest.filter(Boolean).map((line) => line.split(' ')[0] ?? '');
    expect(coordinates).toEqual([...coordinates].sort());
  });

  it('is what `npm run manage -- permissions` prints; an unknown command exits 1 with the usage', async () => {
    const cli = spawnServer({}, { entry: 'src/cli/manage.ts', args: ['permissions'] });
    expect(await cli.exited).toBe(0);
    expect(`${cli.stdout.join('\n')}\n`).toBe(permissionManifest(buildSchema()));
    const wrong = spawnServer({}, { entry: 'src/cli/manage.ts', args: ['permisions'] });
    expect(await wrong.exited).toBe(1);
    expect(wrong.stderr[0]).toBe('error: unknown command "permisions"');
  });
});
