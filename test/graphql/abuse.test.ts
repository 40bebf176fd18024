/**
 * GraphQL-shaped attacks, refused before anything runs: many logins in one operation (aliases, fragments, inline
 * fragments), batched arrays, and operations past the depth, alias, token, cost, directive and body limits. Every
 * limit answers one generic message; no password is hashed and no resolver runs. Persisted queries that cannot be
 * served answer client codes.
 */
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { createAuth } from '../../src/auth/index.js';
import { LIMIT_MESSAGE } from '../../src/graphql/errors.js';
import { buildSchema } from '../../src/graphql/schema.js';
import { CHEAP_HASHING } from '../support/auth.js';
import { sqlLogger } from '../support/sql-log.js';
import { createTestApp, type TestApp } from '../support/app.js';
import { HttpClient, type GraphQLResponse } from '../support/http-client.js';

/** The query every password check starts with (ModelBackend): counting it counts login attempts. */
const LOGIN_LOOKUP = 'SELECT id, password, is_active FROM auth_user WHERE username = ?';

const login = (alias: string, password = 'wrong-guess') =>
  `${alias}: login(username: "alice", password: "${password}") { id }`;

describe('credential fields: one per operation', () => {
  const statements: string[] = [];
  let app: TestApp;
  beforeAll(async () => {
    const logger = sqlLogger(statements);
    // The alias, token and body limits out of the way: this rule must hold on its own.
    app = await createTestApp({
      env: {
        ...CHEAP_HASHING,
        GRAPHQL_MAX_ALIASES: '100000',
        GRAPHQL_MAX_TOKENS: '100000',
        MAX_BODY_BYTES: '1048576',
      },
      logger,
    });
    await createAuth(app.config).users.createUser(app.database.orm.em.fork(), {
      username: 'alice',
      password: 'wonderland-42',
    });
  });
  afterAll(() => app.stop());
  beforeEach(() => {
    statements.length = 0;
  });
  const lookups = () => statements.filter((statement) => statement === LOGIN_LOOKUP).length;

  it('refuses 1,000 aliased logins in one request at validation: 0 passwords checked', async () => {
    const aliases = Array.from({ length: 1000 }, (_, index) => login(`guess${index}`, `guess-${index}`));
    const response = await new HttpClient(app.url).graphql(`mutation { ${aliases.join(' ')} }`);
    expect(response.status).toBe(400);
    expect(response.body.data).toBeUndefined();
    expect(response.body.errors).toEqual([
      expect.objectContaining({
        message: expect.stringMatching(/^An operation may run only one of .*login.*; it has 1000\./),
        extensions: expect.objectContaining({ code: 'GRAPHQL_VALIDATION_FAILED' }),
      }),
    ]);
    expect(lookups()).toBe(0);
  });

  it('refuses 1,000 logins spread through 1,000 fragments the same way: 0 passwords checked', async () => {
    const spreads = Array.from({ length: 1000 }, (_, index) => `...F${index}`).join(' ');
    const fragments = Array.from(
      { length: 1000 },
      (_, index) => `fragment F${index} on Mutation { ${login(`guess${index}`, `guess-${index}`)} }`,
    ).join(' ');
    const response = await new HttpClient(app.url).graphql(`mutation { ${spreads} } ${fragments}`);
    expect(response.status).toBe(400);
    expect(response.body.errors?.map((error) => error.message)).toContainEqual(
      expect.stringMatching(/^An operation may run only one of .*; it has 1000\./),
    );
    expect(lookups()).toBe(0);
  });

  it.each([
    [
      'named fragments',
      `mutation { ...A ...B } fragment A on Mutation { ${login('a')} } fragment B on Mutation { ${login('b')} }`,
    ],
    ['inline fragments', `mutation { ... on Mutation { ${login('a')} } ... { ${login('b')} } }`],
    [
      'a fragment inside a fragment',
      `mutation { ${login('a')} ...A } fragment A on Mutation { ...B } fragment B on Mutation { ${login('b')} }`,
    ],
    ['login and changePassword', `mutation { ${login('a')} changePassword(oldPassword: "x", newPassword: "y") }`],
    [
      'register and requestPasswordReset',
      'mutation { register(input: { username: "x", password: "y" }) { id } requestPasswordReset(email: "a@b.c") }',
    ],
  ])('refuses two through %s: 0 passwords checked', async (_, document) => {
    const response = await new HttpClient(app.url).graphql(document);
    expect(response.status).toBe(400);
    expect(response.body.errors?.map((error) => error.message)).toContainEqual(
      expect.stringMatching(/^An operation may run only one of .*; it has 2\./),
    );
    expect(lookups()).toBe(0);
  });

  it('lets one login through, and the same field twice under one response key (executed once)', async () => {
    const once = await new HttpClient(app.url).graphql(`mutation { ${login('a', 'wonderland-42')} }`);
    expect(once.body.errors).toBeUndefined();
    const merged = await new HttpClient(app.url).graphql(
      `mutation { ${login('a', 'wonderland-42')} ...F } fragment F on Mutation { ${login('a', 'wonderland-42')} }`,
    );
    expect(merged.body.errors).toBeUndefined();
    expect(lookups()).toBe(2);
  });

  it('refuses a batch (a JSON array of operations) whole: 0 passwords checked', async () => {
    const batch = Array.from({ length: 50 }, () => ({ query: `mutation { ${login('a')} }` }));
    const response = await new HttpClient(app.url).fetch('/graphql', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(batch),
    });
    expect(response.status).toBe(400);
    expect(lookups()).toBe(0);
  });
});

describe('limits on an operation', () => {
  let resolved = 0;
  let app: TestApp;
  beforeAll(async () => {
    // A recursive type, so that depth and cost can grow without bound; each resolver run is counted.
    const schema = buildSchema({
      typeDefs: ['type Node @public { child: Node, value: Int } extend type Query { tree: Node @public }'],
      resolvers: [
        {
          Query: { tree: () => ((resolved += 1), {}) },
          Node: { child: () => ((resolved += 1), {}), value: () => ((resolved += 1), 1) },
        },
      ],
    });
    app = await createTestApp({
      schema,
      env: {
        GRAPHQL_MAX_DEPTH: '4',
        GRAPHQL_MAX_ALIASES: '3',
        GRAPHQL_MAX_TOKENS: '200',
        GRAPHQL_MAX_COST: '60',
        GRAPHQL_MAX_DIRECTIVES: '3',
        MAX_BODY_BYTES: '2048',
      },
    });
  });
  afterAll(() => app.stop());
  beforeEach(() => {
    resolved = 0;
  });

  const nested = (levels: number) => `${'child { '.repeat(levels)}value${' }'.repeat(levels)}`;

  it('runs an operation within every limit', async () => {
    const response = await app.client.graphql(`{ tree { ${nested(2)} } }`);
    expect(response.body).toEqual({ data: { tree: { child: { child: { value: 1 } } } } });
    expect(resolved).toBe(4);
  });

  it.each([
    ['depth', `{ tree { ${nested(5)} } }`],
    ['aliases', '{ a: tree { value } b: tree { value } c: tree { value } d: tree { value } }'],
    ['tokens', `{ tree { ${'value '.repeat(200)}} }`],
    // graphql-armor's estimate: 2 + 1.5 × 12 × (2 + 1.5 × 1) = 65, past 60, at depth 3 and 50 tokens.
    ['cost', `{ tree { ${'child { value } '.repeat(12)}} }`],
    ['directives', '{ tree { value @include(if: true) @skip(if: false) @include(if: true) @skip(if: false) } }'],
  ])('refuses one past the %s limit before any resolver runs, with the generic message', async (_, query) => {
    const response = await app.client.graphql(query);
    expect(response.status).toBe(400);
    expect(response.body.data).toBeUndefined();
    expect(response.body.errors?.map((error) => error.message)).toContain(LIMIT_MESSAGE);
    expect(JSON.stringify(response.body)).not.toMatch(/limit of|exceeded|\d+ tokens/i);
    expect(resolved).toBe(0);
  });

  it('refuses a body past MAX_BODY_BYTES with 413 before parsing it', async () => {
    const response = await app.client.fetch('/graphql', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query: `{ tree { value } } # ${'x'.repeat(4096)}` }),
    });
    expect(response.status).toBe(413);
    expect(((await response.json()) as { errors: { extensions: { code: string } }[] }).errors[0]?.extensions.code).toBe(
      'PAYLOAD_TOO_LARGE',
    );
    expect(resolved).toBe(0);
  });
});

/** `a0: __typename a1: __typename ...`: the cheapest alias there is, three tokens, no resolver of ours. */
const typenames = (count: number, prefix = 'a') =>
  Array.from({ length: count }, (_, index) => `${prefix}${index}: __typename`).join(' ');

describe('the alias and directive limits count every one', () => {
  let app: TestApp;
  beforeAll(async () => {
    // The defaults, said aloud.
    app = await createTestApp({
      env: { GRAPHQL_MAX_ALIASES: '15', GRAPHQL_MAX_DIRECTIVES: '50', GRAPHQL_MAX_TOKENS: '1000' },
    });
  });
  afterAll(() => app.stop());

  const limitError = expect.objectContaining({
    message: LIMIT_MESSAGE,
    extensions: expect.objectContaining({ code: 'GRAPHQL_VALIDATION_FAILED' }),
  });
  const expectRefused = async (query: string) => {
    const response = await app.client.graphql(query);
    expect(response.status).toBe(400);
    expect(response.body.data).toBeUndefined();
    expect(response.body.errors).toContainEqual(limitError);
    expect(JSON.stringify(response.body)).not.toMatch(/limit of|exceeded/i);
  };

  it.each([101, 330])('refuses %i `__typename` aliases past a limit of 15', async (count) => {
    await expectRefused(`{ ${typenames(count)} }`);
  });

  it('lets 15 `__typename` aliases through', async () => {
    const response = await app.client.graphql(`{ ${typenames(15)} }`);
    expect(response.body.errors).toBeUndefined();
    expect(Object.keys(response.body.data ?? {})).toHaveLength(15);
  });

  it.each([
    // 10 spreads of a fragment with 2 aliases: 20, though execution would merge them into 2 response keys.
    ['at each spread of a fragment', `{ ${'...F '.repeat(10)}} fragment F on Query { a: __typename b: __typename }`],
    [
      'through a fragment inside a fragment',
      `{ ...G ...G } fragment G on Query { ...F ...F ...F ...F } fragment F on Query { a: __typename b: __typename }`,
    ],
    [
      'of fields other than __typename, at each spread',
      `{ ${'...F '.repeat(8)}} fragment F on Query { a: me { id } b: me { id } }`,
    ],
    ['in inline fragments', `{ ... { ${typenames(8)} } ... on Query { ${typenames(8, 'b')} } }`],
  ])('counts aliases %s', async (_, query) => {
    await expectRefused(query);
  });

  it('lets 15 aliases through fragments and inline fragments', async () => {
    const response = await app.client.graphql(
      `{ ${'...F '.repeat(6)} ... { c: __typename d: __typename } e: __typename } fragment F on Query { a: __typename b: __typename }`,
    );
    expect(response.body.errors).toBeUndefined();
    expect(response.body.data).toEqual({ a: 'Query', b: 'Query', c: 'Query', d: 'Query', e: 'Query' });
  });

  const twoDirectives = '@skip(if: false) @include(if: true)';
  it.each([
    ['51 repeated on one field', `{ __typename ${'@aa '.repeat(51)}}`],
    ['52, two on each of 26 fields', `{ ${`__typename ${twoDirectives} `.repeat(26)}}`],
    ['52, two on each of 26 inline fragments', `{ ${`... ${twoDirectives} { __typename } `.repeat(26)}}`],
    [
      '52, two on each of 26 spreads of one fragment',
      `{ ${`...F ${twoDirectives} `.repeat(26)}} fragment F on Query { __typename }`,
    ],
    [
      '52, two in a fragment spread 26 times',
      `{ ${'...F '.repeat(26)}} fragment F on Query { __typename ${twoDirectives} }`,
    ],
    [
      '51 on variable definitions',
      `query (${Array.from({ length: 51 }, (_, index) => `$v${index}: Int @aa`).join(' ')}) { __typename }`,
    ],
    ['51 on the operation', `query ${'@aa '.repeat(51)}{ __typename }`],
  ])('counts every directive: refuses %s', async (_, query) => {
    await expectRefused(query);
  });

  it('counts a fragment chain at once, and ends a fragment cycle: refused, never looping', async () => {
    // 40 fragments, each spreading the next twice: 2^39 aliases, counted in 40 steps, not 2^39.
    const chain = Array.from({ length: 40 }, (_, index) =>
      index === 0
        ? 'fragment F0 on Query { a: __typename }'
        : `fragment F${index} on Query { ...F${index - 1} ...F${index - 1} }`,
    );
    await expectRefused(`{ ...F39 } ${chain.join(' ')}`);
    const cycle = await app.client.graphql(
      '{ ...A } fragment A on Query { a: __typename ...B } fragment B on Query { b: __typename ...A }',
    );
    expect(cycle.status).toBe(400);
    expect(cycle.body.errors?.map((error) => error.extensions?.code)).toContain('GRAPHQL_VALIDATION_FAILED');
  });

  it('lets 50 directives through', async () => {
    const response = await app.client.graphql(`{ ${`__typename ${twoDirectives} `.repeat(25)}}`);
    expect(response.body).toEqual({ data: { __typename: 'Query' } });
  });
});

describe('automatic persisted queries', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await createTestApp();
  });
  afterAll(() => app.stop());

  const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');
  const send = async (body: Record<string, unknown>) => {
    const response = await app.client.fetch('/graphql', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    return { status: response.status, body: (await response.json()) as GraphQLResponse['body'] };
  };
  const codes = (body: GraphQLResponse['body']) => body.errors?.map((error) => error.extensions?.code);
  const persisted = (sha256Hash: string, version: unknown = 1) => ({ persistedQuery: { version, sha256Hash } });

  it('refuses a hash that does not match the query: 400 PERSISTED_QUERY_HASH_MISMATCH, nothing kept', async () => {
    const wrong = sha256('{ me { id } }');
    const response = await send({ query: '{ __typename }', extensions: persisted(wrong) });
    expect(response.status).toBe(400);
    expect(response.body.data).toBeUndefined();
    expect(codes(response.body)).toEqual(['PERSISTED_QUERY_HASH_MISMATCH']);
    // The query was not registered under the wrong hash.
    expect(codes((await send({ extensions: persisted(wrong) })).body)).toEqual(['PERSISTED_QUERY_NOT_FOUND']);
  });

  it('answers an unknown hash with PERSISTED_QUERY_NOT_FOUND, so that the client sends the query', async () => {
    const response = await send({ extensions: persisted(sha256('{ serverInfo { __typename } }')) });
    expect(response.status).toBe(200);
    expect(codes(response.body)).toEqual(['PERSISTED_QUERY_NOT_FOUND']);
  });

  it.each([[2], ['1'], [null]])('refuses persisted query version %p: 400 BAD_REQUEST', async (version) => {
    const response = await send({ query: '{ __typename }', extensions: persisted(sha256('{ __typename }'), version) });
    expect(response.status).toBe(400);
    expect(codes(response.body)).toEqual(['BAD_REQUEST']);
  });

  it('registers a query under its hash, then runs it by the hash alone', async () => {
    const query = '{ registered: __typename }';
    expect((await send({ query, extensions: persisted(sha256(query)) })).body).toEqual({
      data: { registered: 'Query' },
    });
    expect((await send({ extensions: persisted(sha256(query)) })).body).toEqual({ data: { registered: 'Query' } });
  });
});

describe('field suggestions', () => {
  let development: TestApp;
  let production: TestApp;
  beforeAll(async () => {
    development = await createTestApp();
    production = await createTestApp({ env: { NODE_ENV: 'production', SESSION_SECRET: 'p'.repeat(48) } });
  });
  afterAll(async () => {
    await development.stop();
    await production.stop();
  });

  it('say "Did you mean" only where introspection is on', async () => {
    const message = async (target: TestApp) =>
      (await target.client.graphql('{ mee { id } }')).body.errors?.[0]?.message ?? '';
    expect(await message(development)).toMatch(/Did you mean "me"\?/);
    const hidden = await message(production);
    expect(hidden).toMatch(/^Cannot query field "mee" on type "Query"/);
    expect(hidden).not.toMatch(/Did you mean/);
  });
});
