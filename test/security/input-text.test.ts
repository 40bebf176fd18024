/**
 * Text PostgreSQL cannot store (the NUL character, unpaired surrogates) is the client's mistake: it answers
 * BAD_USER_INPUT with status 400 before anything runs, never a 500 from the query it would have failed. Measured
 * before: poll(id: "\u0000"), users(search: "\u0000") and grantPermission(perm: "polls.\u0000") answered
 * INTERNAL_SERVER_ERROR.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createAuth } from '../../src/auth/index.js';
import { CHEAP_HASHING } from '../support/auth.js';
import { createTestApp, type TestApp } from '../support/app.js';
import type { HttpClient } from '../support/http-client.js';
import { loggedInClient } from '../support/sessions.js';

describe('text PostgreSQL cannot store', () => {
  let app: TestApp;
  let root: HttpClient;

  beforeAll(async () => {
    app = await createTestApp({ env: CHEAP_HASHING });
    const em = app.database.orm.em.fork();
    await createAuth(app.config).users.createUser(em, {
      username: 'root',
      password: 'root-pass-123',
      isSuperuser: true,
    });
    await createAuth(app.config).users.createUser(em, { username: 'plain', password: 'plain-pass-123' });
    root = await loggedInClient(app.url, 'root', 'root-pass-123');
  });
  afterAll(() => app.stop());

  it.each([
    ['a NUL in an id variable', 'query ($v: ID!) { poll(id: $v) { id } }', '\u0000'],
    ['an unpaired surrogate in an id variable', 'query ($v: ID!) { poll(id: $v) { id } }', '\ud800'],
    ['a NUL in a search', 'query ($v: String) { users(search: $v) { totalCount } }', 'a\u0000b'],
    ['a NUL in a permission name', 'mutation ($v: String!) { grantPermission(perm: $v, userId: "1") }', 'polls.\u0000'],
    [
      'a NUL in an object id',
      'mutation ($v: ID) { grantPermission(perm: "polls.view_poll", userId: "1", objectId: $v) }',
      '1\u0000',
    ],
    [
      'a NUL inside an input object',
      'mutation ($v: CreateUserInput!) { createUser(input: $v) { id } }',
      { username: 'x\u0000' },
    ],
  ])('answers %s with BAD_USER_INPUT and 400, for anyone', async (_name, query, value) => {
    for (const client of [root, await loggedInClient(app.url, 'plain', 'plain-pass-123')]) {
      const { status, body } = await client.graphql(query, { v: value });
      expect({ status, codes: body.errors?.map((error) => error.extensions?.code) }).toEqual({
        status: 400,
        codes: ['BAD_USER_INPUT'],
      });
    }
  });

  it('refuses it written in the document too, at validation', async () => {
    const { status, body } = await root.graphql('{ poll(id: "\\u0000") { id } }');
    expect(status).toBe(400);
    expect(body.errors?.map((error) => [error.message, error.extensions?.code])).toEqual([
      ['Text may not contain the NUL character or unpaired surrogates.', 'GRAPHQL_VALIDATION_FAILED'],
    ]);
  });

  it('lets every other text through, any script included', async () => {
    const { body } = await root.graphql('query ($v: String) { users(search: $v) { totalCount } }', {
      v: 'Zoë 北京 🙂',
    });
    expect(body).toEqual({ data: { users: { totalCount: 0 } } });
  });
});
