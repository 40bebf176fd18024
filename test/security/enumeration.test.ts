/**
 * No account enumeration at login: an unknown user, a wrong password, an inactive user (with the right password)
 * and an account without a usable password get the same status, headers and body (but for the request id and
 * what derives from it), and each costs exactly one password lookup.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createAuth } from '../../src/auth/index.js';
import { CHEAP_HASHING } from '../support/auth.js';
import { createTestApp, type TestApp } from '../support/app.js';
import { HttpClient } from '../support/http-client.js';
import { sqlLogger } from '../support/sql-log.js';

const LOGIN = 'mutation ($u: String!, $p: String!) { login(username: $u, password: $p) { id } }';
const LOGIN_LOOKUP = 'SELECT id, password, is_active FROM auth_user WHERE username = ?';
/** Differ between any two answers by design: when, and which request. */
const PER_REQUEST_HEADERS = new Set(['date', 'x-request-id']);

describe('login failures', () => {
  const statements: string[] = [];
  let app: TestApp;
  beforeAll(async () => {
    app = await createTestApp({ env: CHEAP_HASHING, logger: sqlLogger(statements) });
    const em = app.database.orm.em.fork();
    const auth = createAuth(app.config);
    await auth.users.createUser(em, { username: 'alice', password: 'alice-pass-1' });
    await auth.users.createUser(em, { username: 'bob', password: 'bob-pass-1', isActive: false });
    await auth.users.createUser(em, { username: 'carol', password: null });
  });
  afterAll(() => app.stop());

  async function answer(username: string, password: string) {
    const before = statements.filter((statement) => statement === LOGIN_LOOKUP).length;
    const response = await new HttpClient(app.url).fetch('/graphql', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query: LOGIN, variables: { u: username, p: password } }),
    });
    const id = response.headers.get('x-request-id') ?? '';
    const text = await response.text();
    return {
      status: response.status,
      headers: [...response.headers.entries()].filter(([name]) => !PER_REQUEST_HEADERS.has(name)),
      body: text.replaceAll(id, '<request id>'),
      lookups: statements.filter((statement) => statement === LOGIN_LOOKUP).length - before,
    };
  }

  it('answer byte for byte the same for the four kinds, each after one password lookup', async () => {
    const answers = [
      await answer('nobody', 'some-guess-1'),
      await answer('alice', 'not-alices-password'),
      await answer('bob', 'bob-pass-1'),
      await answer('carol', 'some-guess-1'),
    ];
    expect(answers[0]).toMatchObject({ status: 200, lookups: 1 });
    expect(answers[0]?.body).toContain('"code":"INVALID_CREDENTIALS"');
    for (const other of answers.slice(1)) expect(other).toEqual(answers[0]);
  });
});
