/**
 * Input text is checked in one place before anything runs: text PostgreSQL cannot store (the NUL character, unpaired
 * surrogates) and text longer than the column it lands in (its @maxLength; 8,192 code points for text without one)
 * is the client's mistake. It answers BAD_USER_INPUT with status 400, naming the argument, never a 500 from the query
 * it would have failed. Measured before: poll(id: "\u0000"), users(search: "\u0000") and
 * grantPermission(perm: "polls.\u0000") answered INTERNAL_SERVER_ERROR, and so did updateUser with an e-mail of 255
 * characters (22001).
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createAuth } from '../../src/auth/index.js';
import { User } from '../../src/entities/user.js';
import { SchemaGuardError } from '../../src/graphql/directives/index.js';
import { DEFAULT_MAX_LENGTH } from '../../src/graphql/input-text.js';
import { buildSchema } from '../../src/graphql/schema.js';
import { CHEAP_HASHING } from '../support/auth.js';
import { createTestApp, type TestApp } from '../support/app.js';
import type { GraphQLResponse, HttpClient } from '../support/http-client.js';
import { loggedInClient } from '../support/sessions.js';

/** The status, and each issue's code and field: what a client reads of a refusal. */
function refusal({ status, body }: GraphQLResponse) {
  return {
    status,
    codes: body.errors?.map((error) => error.extensions?.code),
    issues: (body.errors?.[0]?.extensions?.validationErrors as { code: string; field?: string }[] | undefined)?.map(
      ({ code, field }) => ({ code, field }),
    ),
  };
}

describe('input text', () => {
  let app: TestApp;
  let root: HttpClient;
  let plainId: string;

  beforeAll(async () => {
    app = await createTestApp({ env: CHEAP_HASHING });
    const em = app.database.orm.em.fork();
    await createAuth(app.config).users.createUser(em, {
      username: 'root',
      password: 'root-pass-123',
      isSuperuser: true,
    });
    const plain = await createAuth(app.config).users.createUser(em, {
      username: 'plain',
      email: 'plain@example.com',
      password: 'plain-pass-123',
    });
    plainId = String(plain.id);
    root = await loggedInClient(app.url, 'root', 'root-pass-123');
  });
  afterAll(() => app.stop());

  const emailOfPlain = async () => (await app.database.orm.em.fork().findOneOrFail(User, Number(plainId))).email;

  it.each([
    ['a NUL in an id variable', 'query ($v: ID!) { poll(id: $v) { id } }', '\u0000', 'id'],
    ['an unpaired surrogate in an id variable', 'query ($v: ID!) { poll(id: $v) { id } }', '\ud800', 'id'],
    ['a NUL in a search', 'query ($v: String) { users(search: $v) { totalCount } }', 'a\u0000b', 'search'],
    [
      'a NUL in a permission name',
      'mutation ($v: String!) { grantPermission(perm: $v, userId: "1") }',
      'polls.\u0000',
      'perm',
    ],
    [
      'a NUL in an object id',
      'mutation ($v: ID) { grantPermission(perm: "polls.view_poll", userId: "1", objectId: $v) }',
      '1\u0000',
      'objectId',
    ],
    [
      'a NUL inside an input object',
      'mutation ($v: CreateUserInput!) { createUser(input: $v) { id } }',
      { username: 'x\u0000' },
      'input.username',
    ],
    [
      'a lone low surrogate in a list item',
      'mutation ($v: [String!]) { createPoll(question: "Which?", choices: $v) { id } }',
      ['fine', '\udc00'],
      'choices[1]',
    ],
  ])('answers %s with BAD_USER_INPUT and 400 naming the argument, for anyone', async (_name, query, value, field) => {
    const anonymous = app.client;
    for (const client of [root, await loggedInClient(app.url, 'plain', 'plain-pass-123'), anonymous]) {
      expect(refusal(await client.graphql(query, { v: value }))).toEqual({
        status: 400,
        codes: ['BAD_USER_INPUT'],
        issues: [{ code: 'unstorable_text', field }],
      });
    }
  });

  it('refuses it written in the document too, with the same answer, every time the same document comes', async () => {
    // An operation without variables is walked once and its answer kept with the parsed document: the second and
    // third requests of the same text get it from there, and must still be refused.
    for (let time = 0; time < 3; time++) {
      expect(refusal(await root.graphql('{ poll(id: "\\u0000") { id } }'))).toEqual({
        status: 400,
        codes: ['BAD_USER_INPUT'],
        issues: [{ code: 'unstorable_text', field: 'id' }],
      });
    }
    // An operation with variables is walked at every request: the same text, first with a good value, then a bad one.
    const withVariable = 'query ($v: ID!) { poll(id: $v) { id } }';
    expect(refusal(await root.graphql(withVariable, { v: '1' })).codes).toBeUndefined();
    expect(refusal(await root.graphql(withVariable, { v: '\u0000' })).codes).toEqual(['BAD_USER_INPUT']);
  });

  it('finds it in fragments and inline fragments, naming each bad value up to 20', async () => {
    const { status, body } = await root.graphql(
      `mutation { ... on Mutation { updatePoll(id: "1", question: "\\u0000") { id } } ...Make }
       fragment Make on Mutation { createGroup(name: "G", permissions: ${JSON.stringify(Array(30).fill('a\u0000'))}) { id } }`,
    );
    const issues = body.errors?.[0]?.extensions?.validationErrors as { field: string }[];
    expect(status).toBe(400);
    expect(issues.map(({ field }) => field)).toEqual([
      'question',
      ...Array.from({ length: 19 }, (_item, index) => `permissions[${index}]`),
    ]);
  });

  it("answers updateUser's e-mail longer than its column (254) as createUser does: email_too_long, nothing written", async () => {
    const tooLong = `${'a'.repeat(243)}@example.com`;
    expect(tooLong).toHaveLength(255);
    for (const [query, variables] of [
      ['mutation ($id: ID!, $e: String) { updateUser(id: $id, input: { email: $e }) { id } }', { id: plainId }],
      ['mutation ($e: String) { createUser(input: { username: "someone", email: $e }) { id } }', {}],
    ] as const) {
      expect(refusal(await root.graphql(query, { ...variables, e: tooLong }))).toEqual({
        status: 400,
        codes: ['BAD_USER_INPUT'],
        issues: [{ code: 'email_too_long', field: 'input.email' }],
      });
    }
    expect(await emailOfPlain()).toBe('plain@example.com');
    expect(await app.database.orm.em.fork().count(User, { username: 'someone' })).toBe(0);
  });

  it('answers an e-mail that lower-cases longer than its column with email_too_long, nothing written', async () => {
    // 254 code points as given; "İ" lower-cases to two, and the domain is lower-cased when stored.
    const { body } = await root.graphql(
      'mutation ($id: ID!, $e: String) { updateUser(id: $id, input: { email: $e }) { id } }',
      { id: plainId, e: `a@${'İ'.repeat(252)}` },
    );
    expect(body.errors?.[0]?.extensions).toMatchObject({
      code: 'BAD_USER_INPUT',
      validationErrors: [{ code: 'email_too_long', field: 'email' }],
    });
    expect(await emailOfPlain()).toBe('plain@example.com');
  });

  it('counts length in code points, as varchar does: 200 astral characters fill a question of 200', async () => {
    const create = (question: string) =>
      root.graphql<{ createPoll: { question: string } }>(
        'mutation ($q: String!) { createPoll(question: $q) { question } }',
        { q: question },
      );
    const fits = await create('🙂'.repeat(200));
    expect(fits.body.errors).toBeUndefined();
    expect(fits.body.data?.createPoll.question).toBe('🙂'.repeat(200));
    expect(refusal(await create('🙂'.repeat(201)))).toEqual({
      status: 400,
      codes: ['BAD_USER_INPUT'],
      issues: [{ code: 'max_length', field: 'question' }],
    });
  });

  it(`bounds text that lands in no column too, at ${DEFAULT_MAX_LENGTH} code points`, async () => {
    const search = (text: string) =>
      root.graphql('query ($v: String) { users(search: $v) { totalCount } }', { v: text });
    expect((await search('x'.repeat(DEFAULT_MAX_LENGTH))).body.errors).toBeUndefined();
    expect(refusal(await search('x'.repeat(DEFAULT_MAX_LENGTH + 1)))).toEqual({
      status: 400,
      codes: ['BAD_USER_INPUT'],
      issues: [{ code: 'max_length', field: 'search' }],
    });
  });

  it('lets every other text through, any script included', async () => {
    const { body } = await root.graphql('query ($v: String) { users(search: $v) { totalCount } }', {
      v: 'Zoë 北京 🙂',
    });
    expect(body).toEqual({ data: { users: { totalCount: 0 } } });
  });

  it('refuses to start with a bound on something that is not text, or below 1', () => {
    const problems = (() => {
      try {
        buildSchema({
          typeDefs: [
            `extend type Query {
               shortText(text: String @maxLength(n: 0)): Int @public
               count(n: Int @maxLength(n: 3)): Int @public
             }
             input Bounded { kind: PermissionObject @maxLength(n: 5) }`,
          ],
        });
        return [];
      } catch (error) {
        if (error instanceof SchemaGuardError) return error.problems;
        throw error;
      }
    })();
    expect([...problems].sort()).toEqual([
      '@maxLength on Bounded.kind: PermissionObject is not text',
      '@maxLength on Query.count(n:): Int is not text',
      '@maxLength on Query.shortText(text:): n must be 1 or more',
    ]);
  });
});
