/**
 * GraphQL over HTTP, as clients meet it: the endpoint, the schema's scalars, errors with stable codes and no
 * internals, bounded bodies, CSRF prevention, and no explorer in production (test/explorer.test.ts has it in development).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { buildSchema } from '../src/graphql/schema.js';
import { createLogger } from '../src/logger.js';
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
      errors: [{ message: expect.any(String), extensions: { code: 'BAD_REQUEST', requestId: expect.any(String) } }],
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
      errors: [
        { message: expect.any(String), extensions: { code: 'PAYLOAD_TOO_LARGE', requestId: expect.any(String) } },
      ],
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

  it('answers a GET whose operation is in the query string, with the preflight header', async () => {
    const get = await app.client.fetch('/graphql?query=%7B__typename%7D&extensions=%7B%7D', {
      headers: { 'apollo-require-preflight': 'true' },
    });
    expect({ status: get.status, body: await get.json() }).toEqual({
      status: 200,
      body: { data: { __typename: 'Query' } },
    });
  });

  it('allows introspection outside production', async () => {
    const { body } = await app.client.graphql('{ __schema { queryType { name } } }');
    expect(body).toEqual({ data: { __schema: { queryType: { name: 'Query' } } } });
  });

  it('answers unknown paths with a JSON 404', async () => {
    const response = await app.client.fetch('/nothing-here');
    expect(response.status).toBe(404);
    expect(await response.json()).toEqual({
      errors: [
        { message: 'Not found', extensions: { code: 'NOT_FOUND', requestId: response.headers.get('x-request-id') } },
      ],
    });
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
    expect(text).not.toContain('GraphiQL');
    expect(response.status).toBe(400);
    expect((await app.client.fetch('/explorer/start.0123456789abcdef.js')).status).toBe(404);
  });

  it('refuses introspection', async () => {
    const response = await app.client.graphql('{ __schema { queryType { name } } }');
    expect(response.status).toBe(400);
    expect(response.body.errors?.map((error) => error.extensions?.code)).toEqual(['GRAPHQL_VALIDATION_FAILED']);
  });

  it('still answers operations', async () => {
    expect((await app.client.graphql('{ __typename }')).body).toEqual({ data: { __typename: 'Query' } });
  });

  it('lets no cache keep an answer, and sends no ETag', async () => {
    const answered = await app.client.graphql('{ me { id } }');
    const refused = await app.client.graphql('{ __schema { queryType { name } } }');
    for (const { headers } of [answered, refused]) {
      expect(headers.get('cache-control')).toBe('no-store');
      expect(headers.get('etag')).toBeNull();
    }
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
          extensions: { code: 'INTERNAL_SERVER_ERROR', requestId: expect.any(String) },
        },
      ],
    });
  });
});

describe('request ids', () => {
  const lines: Record<string, unknown>[] = [];
  const proxiedLines: Record<string, unknown>[] = [];
  let app: TestApp;
  let proxied: TestApp;
  const capture = (target: Record<string, unknown>[]) =>
    createLogger('debug', { write: (line: string) => target.push(JSON.parse(line) as Record<string, unknown>) });
  beforeAll(async () => {
    const schema = buildSchema({
      typeDefs: ['extend type Query { broken: String @public, slow: String @public }'],
      resolvers: [
        {
          Query: {
            broken: () => {
              throw new Error('connection reset by peer');
            },
            slow: () => sleep(500).then(() => 'done'),
          },
        },
      ],
    });
    app = await createTestApp({ schema, logger: capture(lines) });
    proxied = await createTestApp({ env: { TRUST_PROXY: 'loopback' }, logger: capture(proxiedLines) });
  });
  afterAll(async () => {
    await app.stop();
    await proxied.stop();
  });

  const post = (client: TestApp['client'], query: string, headers: Record<string, string> = {}) =>
    client.fetch('/graphql', {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: JSON.stringify({ query }),
    });
  const completed = (from: Record<string, unknown>[], response: Response) =>
    from.find((line) => line.msg === 'request completed' && line.reqId === response.headers.get('x-request-id'));

  it('are a fresh UUID in each response, on the log lines of that request, and in its errors', async () => {
    const first = await app.client.graphql('{ broken }', undefined, { cookie: 'sessionid=s%3Aabc.def; theme=dark' });
    const second = await app.client.graphql('{ __typename }');
    const id = first.headers.get('x-request-id') ?? '';
    expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    expect(second.headers.get('x-request-id')).not.toBe(id);
    expect(first.body.errors?.[0]?.extensions).toEqual({ code: 'INTERNAL_SERVER_ERROR', requestId: id });
    const ofFirst = lines.filter((line) => line.reqId === id);
    // The masked error, an SQL statement of the request, and the line of the finished request.
    expect(ofFirst.map((line) => line.msg)).toEqual(
      expect.arrayContaining(['unexpected error (masked in the response)', 'request completed']),
    );
    const line = ofFirst.find((candidate) => candidate.msg === 'request completed');
    // Method and path only: never the headers, so never the cookie the request sent.
    expect(line?.req).toEqual({ method: 'POST', path: '/graphql' });
    expect(line?.res).toEqual({ statusCode: 200 });
    expect(JSON.stringify(ofFirst)).not.toMatch(/s%3Aabc|s:abc|theme=dark|"headers"/);
  });

  it('are on the debug line of a malformed request, which never quotes its body', async () => {
    const response = await app.client.fetch('/graphql', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"query":"mutation { login(username: \\"eve\\", password: \\"hunter2-secret\\") { id } }"',
    });
    expect(response.status).toBe(400);
    const ofIt = lines.filter((line) => line.reqId === response.headers.get('x-request-id'));
    expect(ofIt.find((line) => line.msg === 'client error')).toMatchObject({
      status: 400,
      type: 'entity.parse.failed',
    });
    expect(JSON.stringify(lines)).not.toContain('hunter2-secret');
  });

  it('are on the line of a request whose client went away', async () => {
    const before = new Set(lines);
    await expect(
      app.client.fetch('/graphql', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ query: '{ slow }' }),
        signal: AbortSignal.timeout(100),
      }),
    ).rejects.toThrow();
    await sleep(700);
    const aborted = lines.find((line) => !before.has(line) && line.msg === 'request aborted');
    expect(aborted).toMatchObject({ reqId: expect.stringMatching(/^[0-9a-f-]{36}$/), req: { path: '/graphql' } });
  });

  it('are a trusted proxy’s well-formed X-Request-Id, adopted as ours, and never a client’s', async () => {
    const direct = await post(app.client, '{ __typename }', { 'x-request-id': 'chosen-by-the-client' });
    expect(direct.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
    expect(completed(lines, direct)).toMatchObject({ reqId: direct.headers.get('x-request-id') });

    // The proxy's id is the request's: in the answer's header and on its log lines, so that both logs join on it.
    const viaProxy = await post(proxied.client, '{ __typename }', { 'x-request-id': 'lb-7f3a-01' });
    expect(viaProxy.headers.get('x-request-id')).toBe('lb-7f3a-01');
    expect(completed(proxiedLines, viaProxy)).toMatchObject({ reqId: 'lb-7f3a-01' });

    // Malformed or too long: one of our own.
    for (const bad of ['x {"level":60}', 'a'.repeat(129), '']) {
      const forged = await post(proxied.client, '{ __typename }', { 'x-request-id': bad });
      expect(forged.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
    }
  });
});

describe('CORS', () => {
  let app: TestApp;
  let closed: TestApp;
  beforeAll(async () => {
    app = await createTestApp({ env: { CORS_ORIGINS: 'https://app.example.com' } });
    closed = await createTestApp();
  });
  afterAll(async () => {
    await app.stop();
    await closed.stop();
  });

  const preflight = (target: TestApp, origin: string) =>
    target.client.fetch('/graphql', {
      method: 'OPTIONS',
      headers: {
        origin,
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'content-type',
      },
    });

  it('lets a listed origin call with credentials, and no other', async () => {
    const allowed = await preflight(app, 'https://app.example.com');
    expect(allowed.status).toBe(204);
    expect(allowed.headers.get('access-control-allow-origin')).toBe('https://app.example.com');
    expect(allowed.headers.get('access-control-allow-credentials')).toBe('true');
    const other = await preflight(app, 'https://evil.example');
    expect(other.headers.get('access-control-allow-origin')).toBeNull();
  });

  it('answers no cross-origin headers at all when CORS_ORIGINS is unset', async () => {
    const response = await preflight(closed, 'https://app.example.com');
    expect(response.headers.get('access-control-allow-origin')).toBeNull();
  });
});
