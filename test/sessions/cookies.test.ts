/**
 * The session cookie's attributes, in development and production, and behind a TLS-terminating proxy with and
 * without TRUST_PROXY: the classic "login works but the session does not stick". On each session store; and no
 * cookie when the session cannot be stored (here PostgreSQL refusing it; Redis down is in redis-store.test.ts).
 */
import { afterEach, describe, expect, it } from '@jest/globals';
import { createAuth } from '../../src/auth/index.js';
import { createLogger } from '../../src/logger.js';
import { createTestApp, type TestApp } from '../support/app.js';
import { HttpClient } from '../support/http-client.js';
import { describeEachStore, type SessionStoreKind } from '../support/session-stores.js';

const LOGIN = 'mutation { login(username: "alice", password: "wonderland-42") { id } }';
const ME = '{ me { username } }';
const PRODUCTION = { NODE_ENV: 'production', SESSION_SECRET: 'p'.repeat(48) };

/** The app the current test started; stopped after each test. */
let app: TestApp | undefined;
afterEach(async () => {
  await app?.stop();
  app = undefined;
});

async function startApp(
  sessionStore: SessionStoreKind,
  env: Record<string, string>,
  logLines?: Record<string, unknown>[],
): Promise<TestApp> {
  const logger = logLines
    ? createLogger('warn', { write: (line: string) => logLines.push(JSON.parse(line) as Record<string, unknown>) })
    : undefined;
  app = await createTestApp({
    sessionStore,
    env: { ARGON2_MEMORY_KIB: '1024', ARGON2_TIME_COST: '1', ...env },
    ...(logger ? { logger } : {}),
  });
  await createAuth(app.config).users.createUser(app.database.orm.em.fork(), {
    username: 'alice',
    password: 'wonderland-42',
  });
  return app;
}

/** The Set-Cookie header of a login, as attribute names and values. */
async function loginCookie(running: TestApp, headers: Record<string, string> = {}) {
  const response = await new HttpClient(running.url).graphql(LOGIN, undefined, headers);
  expect(response.body.errors).toBeUndefined();
  // The session cookie (a login sets the device cookie too: test/sessions/guessing.test.ts).
  const header = response.headers.getSetCookie().find((cookie) => !cookie.startsWith('gqlauth_device='));
  if (!header) return null;
  const [pair = '', ...attributes] = header.split(/;\s*/);
  return { name: pair.split('=')[0], attributes: attributes.map((attribute) => attribute.split('=')[0]).sort() };
}

describeEachStore('the session cookie', (sessionStore) => {
  const start = (env: Record<string, string>, logLines?: Record<string, unknown>[]) =>
    startApp(sessionStore, env, logLines);

  it('in development: HttpOnly, SameSite=Lax, not Secure', async () => {
    expect(await loginCookie(await start({}))).toEqual({
      name: 'sessionid',
      attributes: ['Expires', 'HttpOnly', 'Path', 'SameSite'],
    });
  });

  // The load-balancer incident: TLS ends at the balancer, which talks plain HTTP to the server and says
  // X-Forwarded-Proto: https on every request. The browser's side is https, so its jar keeps Secure cookies.
  const behindBalancer = { 'x-forwarded-proto': 'https', 'x-forwarded-for': '203.0.113.7' };

  it('in production behind a proxy with TRUST_PROXY: Secure too, because X-Forwarded-Proto: https counts', async () => {
    const running = await start({ ...PRODUCTION, TRUST_PROXY: '1' });
    expect(await loginCookie(running, behindBalancer)).toEqual({
      name: 'sessionid',
      attributes: ['Expires', 'HttpOnly', 'Path', 'SameSite', 'Secure'],
    });
    const browser = new HttpClient(running.url);
    expect((await browser.graphql(LOGIN, undefined, behindBalancer)).body.errors).toBeUndefined();
    expect((await browser.graphql(ME, undefined, behindBalancer)).body.data).toEqual({ me: { username: 'alice' } });
  });

  it('in production behind a proxy without TRUST_PROXY: no cookie, one loud warning naming TRUST_PROXY, `me` null', async () => {
    const logLines: Record<string, unknown>[] = [];
    const running = await start(PRODUCTION, logLines);
    expect(await loginCookie(running, behindBalancer)).toBeNull();
    const warnings = logLines.filter((line) => String(line.msg).includes('no session cookie was sent'));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatchObject({ level: 40, xForwardedProto: 'https', protocol: 'http' });
    expect(String(warnings[0]?.msg)).toContain('TRUST_PROXY');
    // What the user sees: the login "worked", and the next request is anonymous.
    const browser = new HttpClient(running.url);
    const login = await browser.graphql(LOGIN, undefined, behindBalancer);
    expect(login.body).toEqual({ data: { login: { id: expect.any(String) } } });
    expect((await browser.graphql(ME, undefined, behindBalancer)).body.data).toEqual({ me: null });
  });

  it('takes its name, domain, path and SameSite from the configuration', async () => {
    const running = await start({
      SESSION_COOKIE_NAME: 'app_session',
      SESSION_COOKIE_DOMAIN: 'example.com',
      SESSION_COOKIE_PATH: '/graphql',
      SESSION_COOKIE_SAMESITE: 'strict',
    });
    const response = await new HttpClient(running.url).graphql(LOGIN);
    expect(response.headers.getSetCookie().find((cookie) => cookie.startsWith('app_session='))).toMatch(
      /^app_session=s%3A[^;]+; Domain=example\.com; Path=\/graphql; Expires=[^;]+; HttpOnly; SameSite=Strict$/,
    );
  });
});

describe('the warning when no Secure cookie was sent, for each missing link (issue 19, item 8)', () => {
  /** The warning a login through a "proxy" sending `headers` gets, from a production server with `env`. */
  async function warningFor(env: Record<string, string>, headers: Record<string, string>) {
    const logLines: Record<string, unknown>[] = [];
    const running = await startApp('postgres', { ...PRODUCTION, ...env }, logLines);
    expect(await loginCookie(running, headers)).toBeNull();
    expect(logLines).toHaveLength(1);
    return String(logLines[0]?.msg);
  }

  it('TRUST_PROXY that does not cover the proxy: names its address and the setting', async () => {
    const warning = await warningFor({ TRUST_PROXY: '10.0.0.0/8' }, { 'x-forwarded-proto': 'https' });
    expect(warning).toMatch(/the request came from \S*127\.0\.0\.1, which TRUST_PROXY=10\.0\.0\.0\/8 does not trust/);
  });

  it('a proxy that says the browser used plain HTTP: says so, not "set TRUST_PROXY"', async () => {
    const warning = await warningFor({ TRUST_PROXY: '1' }, { 'x-forwarded-proto': 'http' });
    expect(warning).toContain('the proxy says the browser used plain HTTP (X-Forwarded-Proto: http)');
    expect(warning).not.toContain('set TRUST_PROXY');
  });

  it('neither TRUST_PROXY nor X-Forwarded-Proto: both are named, with the nginx line', async () => {
    const warning = await warningFor({}, {});
    expect(warning).toContain('set TRUST_PROXY (e.g. TRUST_PROXY=1)');
    expect(warning).toContain('proxy_set_header X-Forwarded-Proto $scheme;');
  });
});

describe('the session cookie on the PostgreSQL store', () => {
  it('is not sent when the session could not be stored: the login answers SERVICE_UNAVAILABLE', async () => {
    const running = await startApp('postgres', {});
    // A session store that refuses new sessions while everything else answers.
    const connection = running.database.orm.em.getConnection();
    await connection.execute(
      `CREATE FUNCTION refuse_session() RETURNS trigger AS $$ BEGIN RAISE EXCEPTION 'session store down'; END $$ LANGUAGE plpgsql`,
    );
    await connection.execute(
      'CREATE TRIGGER refuse_session BEFORE INSERT ON gqlauth_session FOR EACH ROW EXECUTE FUNCTION refuse_session()',
    );
    const client = new HttpClient(running.url);
    const response = await client.graphql(LOGIN);
    expect(response.body.errors?.map((error) => error.extensions?.code)).toEqual(['SERVICE_UNAVAILABLE']);
    expect(response.headers.get('set-cookie')).toBeNull();
    expect((await client.graphql('{ me { id } }')).body).toEqual({ data: { me: null } });
    await connection.execute('DROP TRIGGER refuse_session ON gqlauth_session');
  });
});
