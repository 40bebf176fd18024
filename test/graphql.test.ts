/**
 * GraphQL over HTTP, as clients meet it: the endpoint, the schema's scalars, errors with stable codes and no
 * internals, bounded bodies, CSRF prevention, and the landing page per environment.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { buildSchema } from '../src/graphql/schema.js';
import { version } from '../src/version.js';
import { createTestApp, type TestApp } from './support/app.js';

describe('GraphQL over HTTP (development)', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await createTestApp({ env: { NODE_ENV: 'development' } });
  });
  afterAll(() => app.stop());

  it('answers { __typename } at /graphql', async () => {
    const response = await app.client.graphql('{ __typename }');
    expect(response.status).toBe(200);
    expect(response.body).toEqual({ data: { __typename: 'Query' } });
  });

  it('serializes DateTime with graphql-scalars', async () => {
    const before = Date.now();
    const { body } = await app.client.graphql<{ serverInfo: { version: string; time: string } }>(
      '{ serverInfo { version time } }',
    );
    expect(body.errors).toBeUndefined();
    expect(body.data?.serverInfo.version).toBe(version);
    const time = body.data?.serverInfo.time ?? '';
    expect(time).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/);
    expect(Date.parse(time)).toBeGreaterThanOrEqual(before - 1000);
  });

  it('refuses an unknown field with GRAPHQL_VALIDATION_FAILED and status 400', async () => {
    const response = await app.client.graphql('{ nope }');
    expect(response.status).toBe(400);
    expect(response.body.errors?.map((error) => error.extensions?.code)).toEqual(['GRAPHQL_VALIDATION_FAILED']);
  });

  it('refuses a syntax error with GRAPHQL_PARSE_FAILED', async () => {
    const response = await app.client.graphql('{ serverInfo {');
    expect(response.status).toBe(400);
    expect(response.body.errors?.map((error) => error.extensions?.code)).toEqual(['GRAPHQL_PARSE_FAILED']);
  });

  it('answers malformed JSON with 400 and a JSON error, no stack trace', async () => {
    const response = await app.client.fetch('/graphql', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"query": ',
    });
    expect(response.status).toBe(400);
    const text = await response.text();
    expect(JSON.parse(text)).toEqual({
      errors: [{ message: expect.any(String), extensions: { code: 'BAD_REQUEST' } }],
    });
    expect(text).not.toMatch(/\bat .+:\d+:\d+/);
  });

  it('refuses a body over the limit with 413 before parsing it', async () => {
    const response = await app.client.fetch('/graphql', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query: `{ __typename } # ${'x'.repeat(200 * 1024)}` }),
    });
    expect(response.status).toBe(413);
    expect(await response.json()).toEqual({
      errors: [{ message: expect.any(String), extensions: { code: 'PAYLOAD_TOO_LARGE' } }],
    });
  });

  it('refuses a simple (CSRF-able) request: text/plain POST and GET without a preflight header', async () => {
    const textPlain = await app.client.fetch('/graphql', {
      method: 'POST',
      headers: { 'content-type': 'text/plain' },
      body: JSON.stringify({ query: '{ __typename }' }),
    });
    expect(textPlain.status).toBe(400);
    expect(await textPlain.text()).toContain('CSRF');
    const get = await app.client.fetch('/graphql?query=%7B__typename%7D');
    expect(get.status).toBe(400);
    expect(await get.text()).toContain('CSRF');
  });

  it('serves Apollo Sandbox with cookies included to a browser', async () => {
    const response = await app.client.fetch('/graphql', { headers: { accept: 'text/html' } });
    expect(response.status).toBe(200);
    const html = await response.text();
    expect(html).toContain('EmbeddedSandbox');
    expect(html).toMatch(/"includeCookies":\s*true/);
  });

  it('allows introspection outside production', async () => {
    const { body } = await app.client.graphql('{ __schema { queryType { name } } }');
    expect(body).toEqual({ data: { __schema: { queryType: { name: 'Query' } } } });
  });

  it('answers unknown paths with a JSON 404', async () => {
    const response = await app.client.fetch('/nothing-here');
    expect(response.status).toBe(404);
    expect(await response.json()).toEqual({ errors: [{ message: 'Not found', extensions: { code: 'NOT_FOUND' } }] });
  });
});

describe('GraphQL over HTTP (production)', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await createTestApp({ env: { NODE_ENV: 'production', SESSION_SECRET: 's'.repeat(48) } });
  });
  afterAll(() => app.stop());

  it('serves no landing page', async () => {
    const response = await app.client.fetch('/graphql', { headers: { accept: 'text/html' } });
    const text = await response.text();
    expect(text).not.toContain('Sandbox');
    expect(response.status).toBe(400);
  });

  it('refuses introspection', async () => {
    const response = await app.client.graphql('{ __schema { queryType { name } } }');
    expect(response.status).toBe(400);
    expect(response.body.errors?.map((error) => error.extensions?.code)).toEqual(['GRAPHQL_VALIDATION_FAILED']);
  });

  it('still answers operations', async () => {
    expect((await app.client.graphql('{ __typename }')).body).toEqual({ data: { __typename: 'Query' } });
  });
});

describe('an unexpected error in a resolver', () => {
  let app: TestApp;
  beforeAll(async () => {
    const schema = buildSchema({
      typeDefs: ['extend type Query { broken: String @public, fine: String @public }'],
      resolvers: [
        {
          Query: {
            broken: () => {
              throw new Error('relation "auth_user" does not exist: SELECT password FROM auth_user');
            },
            fine: () => 'still here',
          },
        },
      ],
    });
    app = await createTestApp({ schema });
  });
  afterAll(() => app.stop());

  it('reaches the client as INTERNAL_SERVER_ERROR with a fixed message, and the rest of the response intact', async () => {
    const response = await app.client.graphql('{ broken fine }');
    expect(response.status).toBe(200);
    expect(response.body).toEqual({
      data: { broken: null, fine: 'still here' },
      errors: [
        {
          message: 'Internal server error',
          locations: [{ line: 1, column: 3 }],
          path: ['broken'],
          extensions: { code: 'INTERNAL_SERVER_ERROR' },
        },
      ],
    });
  });
});
