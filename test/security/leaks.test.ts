/**
 * No leaks, in production: 100 forced internal errors answer "Internal server error", INTERNAL_SERVER_ERROR and the
 * request id, with no stack, SQL, file path or version; the logs keep the detail, and no log line (at debug level,
 * the most verbose) holds a password, a session cookie, a session id or a reset token.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createAuth } from '../../src/auth/index.js';
import { buildSchema } from '../../src/graphql/schema.js';
import { createLogger } from '../../src/logger.js';
import { version } from '../../src/version.js';
import type { GraphQLContext } from '../../src/graphql/context.js';
import { CHEAP_HASHING } from '../support/auth.js';
import { createTestApp, type TestApp } from '../support/app.js';
import { HttpClient } from '../support/http-client.js';
import { sessionCookieValue, sessionIdOf, loggedInClient } from '../support/sessions.js';
import { startSmtpServer, type TestSmtpServer } from '../support/smtp.js';

const PASSWORD = 'Correct-Horse-Battery-9';
const WRONG = 'Wrong-Horse-Battery-7';

/** Four ways a resolver fails unexpectedly, each with something in its message that must not reach a client. */
const failures: ((context: GraphQLContext) => Promise<never> | never)[] = [
  () => {
    throw new Error('duplicate key value violates unique constraint "auth_user_username_key": SELECT * FROM auth_user');
  },
  () => {
    throw new Error("ENOENT: no such file or directory, open '/srv/app/src/config/secret.ts'");
  },
  () => {
    const missing = undefined as unknown as { deep: { value: number } };
    return missing.deep.value as never;
  },
  async ({ em }) => {
    await em.getConnection().execute('SELECT secret_column FROM no_such_table');
    throw new Error('unreachable');
  },
];

describe('in production', () => {
  const lines: string[] = [];
  let app: TestApp;
  let smtp: TestSmtpServer;
  beforeAll(async () => {
    smtp = await startSmtpServer();
    const schema = buildSchema({
      typeDefs: ['extend type Query { explode(kind: Int!): String @public }'],
      resolvers: [
        {
          Query: {
            explode: (_parent: unknown, { kind }: { kind: number }, context: GraphQLContext) =>
              failures[kind % failures.length]?.(context),
          },
        },
      ],
    });
    app = await createTestApp({
      schema,
      logger: createLogger('debug', { write: (line: string) => lines.push(line) }),
      env: {
        ...CHEAP_HASHING,
        NODE_ENV: 'production',
        SESSION_SECRET: 's'.repeat(48),
        SESSION_COOKIE_SECURE: 'false',
        SMTP_URL: smtp.url,
        PASSWORD_RESET_URL: 'https://app.example.com/reset/{uid}/{token}',
        LOCKOUT_LIMIT: '0',
      },
    });
    await createAuth(app.config).users.createUser(app.database.orm.em.fork(), {
      username: 'alice',
      email: 'alice@example.com',
      password: PASSWORD,
    });
  });
  afterAll(async () => {
    await app.stop();
    await smtp.stop();
  });

  it('answers 100 forced internal errors with the fixed message, the code and the request id, nothing else', async () => {
    const client = await loggedInClient(app.url, 'alice', PASSWORD);
    for (let n = 0; n < 100; n += 1) {
      const response = await client.graphql('query ($k: Int!) { explode(kind: $k) }', { k: n });
      expect(response.status).toBe(200);
      expect(response.body).toEqual({
        data: { explode: null },
        errors: [
          {
            message: 'Internal server error',
            locations: [{ line: 1, column: 20 }],
            path: ['explode'],
            extensions: { code: 'INTERNAL_SERVER_ERROR', requestId: response.headers.get('x-request-id') },
          },
        ],
      });
      expect(response.headers.get('x-powered-by')).toBeNull();
      expect(JSON.stringify(response.body)).not.toMatch(
        new RegExp(`SELECT|no_such_table|/srv/|\\.ts\\b|\\bat .+:\\d+:\\d+|${version.replaceAll('.', '\\.')}`, 'i'),
      );
    }
    // The logs keep what the responses do not.
    expect(lines.join('\n')).toContain('no_such_table');
  });

  it('never logs a password, a session cookie, a session id or a reset token', async () => {
    const client = await loggedInClient(app.url, 'alice', PASSWORD);
    const cookie = (await sessionCookieValue(client, app.url)) ?? '';
    const sid = (await sessionIdOf(client, app.url)) ?? '';
    await new HttpClient(app.url).graphql('mutation ($p: String!) { login(username: "alice", password: $p) { id } }', {
      p: WRONG,
    });
    await client.graphql('mutation ($o: String!) { changePassword(oldPassword: $o, newPassword: "x") }', { o: WRONG });
    await new HttpClient(app.url).fetch('/graphql', {
      method: 'POST',
      headers: { 'content-type': 'application/json', cookie: `sessionid=${cookie}` },
      body: `{"query": "mutation { login(username: \\"alice\\", password: \\"${WRONG}\\") { id } }"`, // malformed
    });
    await new HttpClient(app.url).graphql('mutation { requestPasswordReset(email: "alice@example.com") }');
    const mail = await smtp.next();
    const token = /reset\/[^/]+\/([^/\s]+)/.exec(mail.text)?.[1] ?? '';
    await client.graphql('{ explode(kind: 3) }');
    expect(token.length).toBeGreaterThan(20);
    expect(sid.length).toBeGreaterThan(20);
    const logged = lines.join('\n');
    for (const secret of [PASSWORD, WRONG, cookie, decodeURIComponent(cookie), sid, token, decodeURIComponent(token)])
      expect(logged).not.toContain(secret);
    expect(lines.length).toBeGreaterThan(20);
  });
});
