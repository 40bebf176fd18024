/**
 * Registration: closed unless configured; creates the account and logs it in (on each session store); every broken
 * rule listed at once.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { User } from '../../src/entities/user.js';
import { createTestApp, type TestApp } from '../support/app.js';
import { HttpClient } from '../support/http-client.js';
import { describeEachStore } from '../support/session-stores.js';

const REGISTER = `mutation ($input: RegisterInput!) { register(input: $input) { username email firstName lastLogin } }`;
const input = (overrides: Record<string, unknown> = {}) => ({
  input: { username: 'newcomer', email: 'New.Comer@Example.COM', password: 'a-long-fresh-passphrase', ...overrides },
});
const codes = (body: { errors?: { extensions?: Record<string, unknown> }[] }) =>
  (body.errors?.[0]?.extensions?.validationErrors as { code: string }[] | undefined)?.map((error) => error.code);

describe('register when registration is closed (the default)', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await createTestApp();
  });
  afterAll(() => app.stop());

  it('answers REGISTRATION_CLOSED and creates nothing', async () => {
    const response = await new HttpClient(app.url).graphql(REGISTER, input());
    expect(response.body.errors?.map((error) => error.extensions?.code)).toEqual(['REGISTRATION_CLOSED']);
    expect(await app.database.orm.em.fork().count(User, {})).toBe(0);
  });
});

describeEachStore('register when registration is open', (sessionStore) => {
  let app: TestApp;
  beforeAll(async () => {
    app = await createTestApp({
      sessionStore,
      env: { REGISTRATION_OPEN: 'true', ARGON2_MEMORY_KIB: '1024', ARGON2_TIME_COST: '1' },
    });
  });
  afterAll(() => app.stop());

  it('creates the account, normalizes the e-mail, and logs it in', async () => {
    const client = new HttpClient(app.url);
    const response = await client.graphql<{ register: { username: string; email: string; lastLogin: string | null } }>(
      REGISTER,
      input({ firstName: 'New' }),
    );
    expect(response.body.errors).toBeUndefined();
    expect(response.body.data?.register).toMatchObject({
      username: 'newcomer',
      email: 'New.Comer@example.com',
      firstName: 'New',
    });
    expect(response.body.data?.register.lastLogin).not.toBeNull();
    expect((await client.graphql('{ me { username } }')).body).toEqual({ data: { me: { username: 'newcomer' } } });
    expect(await app.sessions.count()).toBe(1);
  });

  it('refuses a taken username', async () => {
    const response = await new HttpClient(app.url).graphql(REGISTER, input());
    expect(response.body.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    expect(codes(response.body)).toEqual(['username_taken']);
  });

  it("lists every broken rule at once: the username's and the password's", async () => {
    const response = await new HttpClient(app.url).graphql(REGISTER, input({ username: 'bad name', password: '123' }));
    expect(codes(response.body)).toEqual([
      'username_invalid',
      'password_too_short',
      'password_too_common',
      'password_entirely_numeric',
    ]);
    expect(await app.database.orm.em.fork().count(User, { username: 'bad name' })).toBe(0);
  });

  it('refuses a malformed e-mail address before running anything', async () => {
    const response = await new HttpClient(app.url).graphql(
      REGISTER,
      input({ username: 'other', email: 'not-an-email' }),
    );
    expect(response.body.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    expect(await app.database.orm.em.fork().count(User, { username: 'other' })).toBe(0);
  });
});
