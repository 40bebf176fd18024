/**
 * OpenID Connect login end to end: the real server, a real provider (npm oidc-provider, on a loopback port), and a
 * browser-like client that follows the redirects with its cookies: `oidcLoginUrl`, the provider's authorization and
 * interaction, the callback, the landing page. Then the refusals: a bad state, a replayed code, a wrong nonce, an
 * expired ID token, an unverified address matching an account, closed registration, an inactive user, a provider
 * removed from the settings, a provider that cannot be reached.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Secret, TOTP } from 'otpauth';
import { Cookie } from 'tough-cookie';
import { createAuth } from '../../src/auth/index.js';
import { configChecks } from '../../src/checks/config.js';
import type { Clock } from '../../src/auth/clock.js';
import { ConfigError, loadConfig } from '../../src/config/index.js';
import type { Database } from '../../src/db/database.js';
import { selectAll, selectOne } from '../../src/db/sql.js';
import { startServer } from '../../src/server.js';
import { assertsSecondFactor, secondFactorVerifiedBy } from '../../src/services/oidc-logins.js';
import { createTestApp, type TestApp } from '../support/app.js';
import { CHEAP_HASHING } from '../support/auth.js';
import { testLogger } from '../support/env.js';
import { HttpClient } from '../support/http-client.js';
import { startOidcProvider, type TestOidcProvider } from '../support/oidc-provider.js';
import { freePort } from '../support/ports.js';
import { sessionIdOf, whoAmI } from '../support/sessions.js';

const LANDING = 'https://app.example.test/login/done';
const LOGIN_URL = 'mutation ($provider: String!) { oidcLoginUrl(provider: $provider) }';

/** The real time, moved on by the test: the server judges an ID token's expiry by it. */
class MovableClock implements Clock {
  offsetMs = 0;
  now(): Date {
    return new Date(Date.now() + this.offsetMs);
  }
}

/** What the browser's address bar shows at the end: the landing page's query, as an object. */
function landed(location: string): Record<string, string> {
  const url = new URL(location);
  expect(`${url.origin}${url.pathname}`).toBe(LANDING);
  return Object.fromEntries(url.searchParams);
}

describe('OpenID Connect login', () => {
  let provider: TestOidcProvider;
  /** The port of the provider `down`, where nobody answers until a test starts one. */
  let downPort: number;
  /** Registration open, verified addresses linked. */
  let app: TestApp;
  /** Registration closed, addresses never linked. */
  let closed: TestApp;
  const clock = new MovableClock();
  const em = () => app.database.orm.em.fork();

  /** OIDC settings for a server on `port` whose provider `test` is the test's (and `down` one nobody answers at). */
  const oidcEnv = (port: number, downPort: number, env: Record<string, string>) => ({
    ...CHEAP_HASHING,
    PORT: String(port),
    PUBLIC_URL: `http://127.0.0.1:${port}`,
    OIDC_LANDING_URL: LANDING,
    OIDC_PROVIDERS: JSON.stringify([
      {
        name: 'test',
        issuer: provider.issuer,
        clientId: provider.clientId,
        clientSecret: provider.clientSecret,
        label: 'Test provider',
        // Its amr stands for an account's own second factor (the operator's choice; off by default).
        trustAmr: true,
      },
      { name: 'down', issuer: `http://127.0.0.1:${downPort}`, clientId: 'x', clientSecret: 'y' },
    ]),
    ...env,
  });

  beforeAll(async () => {
    const [port, closedPort] = [await freePort(), await freePort()];
    downPort = await freePort();
    provider = await startOidcProvider({
      redirectUris: [port, closedPort].map((at) => `http://127.0.0.1:${at}/auth/oidc/test/callback`),
    });
    app = await createTestApp({
      clock,
      env: oidcEnv(port, downPort, { REGISTRATION_OPEN: 'true', OIDC_LINK_VERIFIED_EMAIL: 'true' }),
    });
    closed = await createTestApp({ env: oidcEnv(closedPort, downPort, { REGISTRATION_OPEN: 'false' }) });
  });

  afterAll(async () => {
    await app.stop();
    await closed.stop();
    await provider.stop();
  });

  /** A new browser, or `browser`, starts a login: the provider's authorization URL, and the flow cookie set. */
  async function start(at: TestApp, browser = new HttpClient(at.url)): Promise<{ browser: HttpClient; url: string }> {
    const { body } = await browser.graphql<{ oidcLoginUrl: string }>(LOGIN_URL, { provider: 'test' });
    expect(body.errors).toBeUndefined();
    return { browser, url: body.data?.oidcLoginUrl ?? '' };
  }

  /** The browser at the provider, logging in as `accountId`, until it is sent back: the callback URL. */
  async function atProvider(browser: HttpClient, url: string, accountId: string, amr?: string[]): Promise<string> {
    provider.nextLogin = accountId === 'cancel' ? 'cancel' : { accountId, ...(amr ? { amr } : {}) };
    let next = url;
    for (let hops = 0; next.startsWith(provider.issuer); hops += 1) {
      if (hops > 10) throw new Error('too many redirects at the provider');
      const response = await browser.fetch(next);
      const location = response.headers.get('location');
      if (!location) throw new Error(`the provider answered ${response.status} at ${next}: ${await response.text()}`);
      next = new URL(location, next).toString();
    }
    return next;
  }

  /** The browser at the callback: where it is sent then (the landing page). */
  async function callback(browser: HttpClient, url: string): Promise<string> {
    const response = await browser.fetch(url);
    expect(response.status).toBe(303);
    expect(response.headers.get('referrer-policy')).toBe('no-referrer');
    return response.headers.get('location') ?? '';
  }

  /** A whole login in a new browser; the landing page's query, and the browser. */
  async function logIn(at: TestApp, accountId: string, amr?: string[]) {
    const { browser, url } = await start(at);
    const landing = landed(await callback(browser, await atProvider(browser, url, accountId, amr)));
    return { landing, browser };
  }

  /** The audit rows matching `where`, once there are `count` (the log is written in the background). */
  async function auditRowsReach(count: number, where: string, params: unknown[]) {
    for (const until = Date.now() + 10_000; ;) {
      const rows = await selectAll<{ kind: string; actor_id: number | null; details: unknown }>(
        em(),
        `SELECT kind, actor_id, details FROM gqlauth_audit_event WHERE ${where} ORDER BY id`,
        params,
      );
      if (rows.length >= count || Date.now() > until) return rows;
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
  }

  const userCount = async () =>
    Number((await selectOne<{ n: string }>(em(), 'SELECT count(*) AS n FROM auth_user'))?.n);
  const linksOf = (subject: string) =>
    selectAll<{ provider: string; user_id: number; email: string }>(
      em(),
      'SELECT provider, user_id, email FROM gqlauth_external_identity WHERE subject = ?',
      [subject],
    );

  it('lists the providers for the login buttons', async () => {
    const { body } = await new HttpClient(app.url).graphql('{ oidcProviders { name label } }');
    expect(body).toEqual({
      data: {
        oidcProviders: [
          { name: 'test', label: 'Test provider' },
          { name: 'down', label: 'down' },
        ],
      },
    });
  });

  it('logs a new person in with a new account, under a new session id, and the next login finds it', async () => {
    provider.accounts.set('alice-sub', {
      email: 'alice@example.com',
      email_verified: true,
      preferred_username: 'alice',
      given_name: 'Alice',
    });
    const users = await userCount();
    // The browser had an anonymous visit's cookie-less session; it gets a session only at the callback.
    const { browser, url } = await start(app);
    const authorization = new URL(url);
    expect(authorization.origin).toBe(provider.issuer);
    expect(authorization.searchParams.get('code_challenge_method')).toBe('S256');
    expect(authorization.searchParams.get('redirect_uri')).toBe(`${app.url}/auth/oidc/test/callback`);
    const flowCookie = (await browser.jar.getCookies(`${app.url}/auth/oidc/test/callback`)).find(
      (cookie) => cookie.key === 'gqlauth_oidc',
    );
    expect(flowCookie).toMatchObject({ httpOnly: true, sameSite: 'lax', path: '/auth/oidc/' });

    const landing = landed(await callback(browser, await atProvider(browser, url, 'alice-sub')));
    expect(landing).toEqual({ oidc: 'logged_in' });
    const { body } = await browser.graphql<{ me: Record<string, string> }>('{ me { username email firstName } }');
    expect(body.data?.me).toEqual({ username: 'alice', email: 'alice@example.com', firstName: 'Alice' });
    expect(await userCount()).toBe(users + 1);
    expect(await linksOf('alice-sub')).toEqual([
      expect.objectContaining({ provider: 'test', email: 'alice@example.com' }),
    ]);
    // The flow cookie is spent.
    expect(
      (await browser.jar.getCookies(`${app.url}/auth/oidc/test/callback`)).some((c) => c.key === 'gqlauth_oidc'),
    ).toBe(false);

    // Again, from another browser: the same account, found by the provider's subject.
    const again = await logIn(app, 'alice-sub');
    expect(again.landing).toEqual({ oidc: 'logged_in' });
    expect(await whoAmI(again.browser)).toBe('alice');
    expect(await userCount()).toBe(users + 1);
  });

  it('replaces a session the browser had with a new one (a new id)', async () => {
    provider.accounts.set('erin-sub', { email: 'erin@example.com', email_verified: true, preferred_username: 'erin' });
    await createAuth(app.config).users.createUser(em(), { username: 'someone', password: 'a-long-password-1' });
    const browser = new HttpClient(app.url);
    await browser.graphql('mutation { login(username: "someone", password: "a-long-password-1") { id } }');
    const before = await sessionIdOf(browser, app.url);
    expect(before).toBeDefined();
    const { url } = await start(app, browser);
    expect(landed(await callback(browser, await atProvider(browser, url, 'erin-sub')))).toEqual({ oidc: 'logged_in' });
    const after = await sessionIdOf(browser, app.url);
    expect(after).toBeDefined();
    expect(after).not.toBe(before);
    expect(await app.sessions.exists(before ?? '')).toBe(false);
    expect(await whoAmI(browser)).toBe('erin');
  });

  it('records the new account, its link and each login in the audit log, with the backend', async () => {
    const { id } = (await selectOne<{ id: number }>(em(), "SELECT id FROM auth_user WHERE username = 'alice'")) ?? {};
    expect(await auditRowsReach(4, 'target_user_id = ?', [id])).toEqual([
      // Made by nobody logged in, as a registration is.
      { kind: 'user_created', actor_id: null, details: { isStaff: false, isSuperuser: false } },
      { kind: 'provider_linked', actor_id: id, details: { provider: 'test', via: 'new_account' } },
      { kind: 'login', actor_id: id, details: { backend: 'oidc:test' } },
      { kind: 'login', actor_id: id, details: { backend: 'oidc:test' } },
    ]);
  });

  it('refuses a callback whose state is not the browser’s login’s', async () => {
    provider.accounts.set('frank-sub', { email: 'frank@example.com', email_verified: true });
    const { browser, url } = await start(app);
    const back = new URL(await atProvider(browser, url, 'frank-sub'));
    back.searchParams.set('state', 'forged-state');
    expect(landed(await callback(browser, back.toString()))).toEqual({ error: 'OIDC_STATE_MISMATCH' });
    expect(await whoAmI(browser)).toBeNull();
    expect(await linksOf('frank-sub')).toEqual([]);
    // Refused before anything was asked of the provider: in the server's log only. Anyone may send such callbacks,
    // and an audit row for each would let them fill the append-only table. (Rows are written in order: once the
    // next login's row is there, a row of this refusal would be too.)
    const { browser: next } = await logIn(app, 'frank-sub');
    const frank = (await whoAmI(next)) ?? '';
    expect(await auditRowsReach(1, "kind = 'login' AND username = ?", [frank])).toHaveLength(1);
    expect(await auditRowsReach(0, "kind = 'login_failed' AND details::text LIKE ?", ['%STATE_MISMATCH%'])).toEqual([]);
  });

  it('refuses a callback in a browser that started no login (login CSRF)', async () => {
    const { browser, url } = await start(app);
    const back = await atProvider(browser, url, 'frank-sub');
    const victim = new HttpClient(app.url);
    expect(landed(await callback(victim, back))).toEqual({ error: 'OIDC_FLOW_MISSING' });
    expect(await whoAmI(victim)).toBeNull();
  });

  it('refuses a replayed code, with or without the flow cookie', async () => {
    provider.accounts.set('grace-sub', { email: 'grace@example.com', email_verified: true });
    const { browser, url } = await start(app);
    const back = await atProvider(browser, url, 'grace-sub');
    const flow = (await browser.jar.getCookies(back)).find((cookie) => cookie.key === 'gqlauth_oidc');
    expect(landed(await callback(browser, back))).toEqual({ oidc: 'logged_in' });

    // The same browser: its flow cookie is spent.
    expect(landed(await callback(browser, back))).toEqual({ error: 'OIDC_FLOW_MISSING' });
    // A copy of the cookie taken before: the provider refuses the code a second time.
    const thief = new HttpClient(app.url);
    await thief.jar.setCookie(new Cookie({ ...flow?.toJSON(), key: 'gqlauth_oidc', value: flow?.value ?? '' }), back);
    expect(landed(await callback(thief, back))).toEqual({ error: 'OIDC_CODE_REJECTED' });
    expect(await whoAmI(thief)).toBeNull();
    // Refused by the provider, after the browser's own checks passed: in the audit log, with the code.
    const failures = await auditRowsReach(1, "kind = 'login_failed' AND details::text LIKE ?", ['%CODE_REJECTED%']);
    expect(failures).toEqual([
      {
        kind: 'login_failed',
        actor_id: null,
        details: { reasons: [{ backend: 'oidc:test', reason: 'OIDC_CODE_REJECTED' }] },
      },
    ]);
  });

  it('refuses an ID token whose nonce is not the browser’s login’s', async () => {
    provider.accounts.set('heidi-sub', { email: 'heidi@example.com', email_verified: true });
    const { browser, url } = await start(app);
    // A code obtained with another nonce (another login's), its state made to match this browser's.
    const other = new URL(url);
    other.searchParams.set('nonce', 'another-logins-nonce');
    const back = await atProvider(browser, other.toString(), 'heidi-sub');
    expect(landed(await callback(browser, back))).toEqual({ error: 'OIDC_NONCE_MISMATCH' });
    expect(await whoAmI(browser)).toBeNull();
    expect(await linksOf('heidi-sub')).toEqual([]);
  });

  it('refuses a subject longer than OpenID Connect allows, and ignores claims the database cannot hold', async () => {
    const long = 's'.repeat(256);
    provider.accounts.set(long, { email: 'long@example.com', email_verified: true });
    const refused = await logIn(app, long);
    expect(refused.landing).toEqual({ error: 'OIDC_ID_TOKEN_INVALID' });
    expect(await linksOf(long)).toEqual([]);

    provider.accounts.set('nul-sub', { email: 'nul@example.com', email_verified: true, given_name: 'Nul\u0000l' });
    const { landing, browser } = await logIn(app, 'nul-sub');
    expect(landing).toEqual({ oidc: 'logged_in' });
    const { body } = await browser.graphql<{ me: Record<string, string> }>('{ me { email firstName } }');
    expect(body.data?.me).toEqual({ email: 'nul@example.com', firstName: '' });
  });

  it('lands with the provider’s refusal when the person cancels there', async () => {
    const { browser, url } = await start(app);
    expect(landed(await callback(browser, await atProvider(browser, url, 'cancel')))).toEqual({
      error: 'OIDC_PROVIDER_REFUSED',
    });
    expect(await whoAmI(browser)).toBeNull();
  });

  it('refuses an ID token that expired by the server’s clock', async () => {
    provider.accounts.set('ivan-sub', { email: 'ivan@example.com', email_verified: true });
    provider.idTokenTtl = 5;
    try {
      const { browser, url } = await start(app);
      const back = await atProvider(browser, url, 'ivan-sub');
      // A minute later (past the token's 5 seconds and openid-client's 30 seconds of tolerance).
      clock.offsetMs = 60_000;
      expect(landed(await callback(browser, back))).toEqual({ error: 'OIDC_ID_TOKEN_EXPIRED' });
      expect(await whoAmI(browser)).toBeNull();
    } finally {
      provider.idTokenTtl = 3600;
      clock.offsetMs = 0;
    }
  });

  it('never reaches an account by an unverified address, nor says whether one has it', async () => {
    const bob = await createAuth(app.config).users.createUser(em(), {
      username: 'bob',
      email: 'bob@example.com',
      password: 'a-long-password-1',
    });
    provider.accounts.set('mallory-sub', {
      email: 'Bob@Example.com',
      email_verified: false,
      preferred_username: 'bob',
    });
    const users = await userCount();
    const { landing, browser } = await logIn(app, 'mallory-sub');
    // As for an address nobody has: a new account (registration is open), without the address.
    expect(landing).toEqual({ oidc: 'logged_in' });
    const { body } = await browser.graphql<{ me: { id: string; username: string; email: string } }>(
      '{ me { id username email } }',
    );
    expect(body.data?.me.id).not.toBe(String(bob.id));
    expect(body.data?.me).toMatchObject({ username: expect.stringMatching(/^bob-[a-z0-9]{8}$/), email: '' });
    expect(await userCount()).toBe(users + 1);
    expect(await linksOf('mallory-sub')).toEqual([expect.objectContaining({ user_id: Number(body.data?.me.id) })]);
    expect(await selectAll(em(), 'SELECT 1 FROM gqlauth_external_identity WHERE user_id = ?', [bob.id])).toEqual([]);
  });

  it('gives a new account no address the provider did not verify', async () => {
    provider.accounts.set('judy-sub', { email: 'judy@example.com', email_verified: false, preferred_username: 'judy' });
    const { landing, browser } = await logIn(app, 'judy-sub');
    expect(landing).toEqual({ oidc: 'logged_in' });
    const { body } = await browser.graphql<{ me: Record<string, string> }>('{ me { username email } }');
    expect(body.data?.me).toEqual({ username: 'judy', email: '' });
  });

  it('links a verified address to the one account that has it, when the setting allows', async () => {
    const carol = await createAuth(app.config).users.createUser(em(), {
      username: 'carol',
      email: 'carol@example.com',
      password: 'a-long-password-1',
    });
    provider.accounts.set('carol-sub', { email: 'carol@example.com', email_verified: true, preferred_username: 'c' });
    const { landing, browser } = await logIn(app, 'carol-sub');
    expect(landing).toEqual({ oidc: 'logged_in' });
    expect(await whoAmI(browser)).toBe('carol');
    expect(await linksOf('carol-sub')).toEqual([{ provider: 'test', user_id: carol.id, email: 'carol@example.com' }]);
    const { body } = await browser.graphql('{ myExternalIdentities { provider email } }');
    expect(body).toEqual({ data: { myExternalIdentities: [{ provider: 'test', email: 'carol@example.com' }] } });
  });

  it('never reaches an account by a look-alike address, nor an administrator’s by any address', async () => {
    const auth = createAuth(app.config);
    await auth.users.createUser(em(), { username: 'bobby', email: 'bobby@mail.test', password: 'a-long-password-1' });
    await auth.users.createUser(em(), { username: 'sammy', email: 'sam@x.test', password: 'a-long-password-1' });
    await auth.users.createUser(em(), {
      username: 'chief',
      email: 'chief@example.com',
      password: 'a-long-password-1',
      isStaff: true,
    });
    // Verified, and rightly: whoever registered the look-alike domain or mailbox holds it. Under PostgreSQL's
    // upper(), the dotless ı folds to I and the long ſ to S.
    provider.accounts.set('evil-1', { email: 'bobby@maıl.test', email_verified: true });
    provider.accounts.set('evil-2', { email: 'ſam@x.test', email_verified: true });
    for (const subject of ['evil-1', 'evil-2']) {
      const { landing, browser } = await logIn(app, subject);
      expect(landing).toEqual({ oidc: 'logged_in' });
      expect(['bobby', 'sammy']).not.toContain(await whoAmI(browser));
    }
    // A staff member's verified address reaches nobody: linking one is theirs to do, logged in.
    provider.accounts.set('chief-sub', { email: 'CHIEF@example.com', email_verified: true });
    const chief = await logIn(app, 'chief-sub');
    expect(chief.landing).toEqual({ error: 'OIDC_ACCOUNT_EXISTS' });
    expect(await whoAmI(chief.browser)).toBeNull();
    expect(await linksOf('chief-sub')).toEqual([]);
  });

  it('makes each of many first logins at once its own account, each announced once, none half-made', async () => {
    const auth = createAuth(app.config);
    const rules = { linkVerifiedEmail: false, registrationOpen: true };
    const before = await userCount();
    // Ten people whose provider calls them all "racer": one gets the name, the others a suffix, none an error.
    const found = await Promise.all(
      Array.from({ length: 10 }, (_unused, n) =>
        auth.externalIdentities.userFor(
          em(),
          'test',
          { subject: `racer-${n}`, emailVerified: false, preferredUsername: 'racer', amr: [] },
          rules,
        ),
      ),
    );
    const usernames = found.map((login) => ('user' in login ? login.user.username : login.refused));
    expect(new Set(usernames).size).toBe(10);
    expect(usernames).toContain('racer');
    expect(await userCount()).toBe(before + 10);
    // The same new person's callback five times at once (a double click, two tabs): one account, found by all.
    const twins = await Promise.all(
      Array.from({ length: 5 }, () =>
        auth.externalIdentities.userFor(
          em(),
          'test',
          { subject: 'twin-sub', emailVerified: false, preferredUsername: 'twin', amr: [] },
          rules,
        ),
      ),
    );
    expect(new Set(twins.map((login) => ('user' in login ? login.user.id : 0))).size).toBe(1);
    expect(await userCount()).toBe(before + 11);
  });

  it('lets a user unlink a provider, unless it is their only way to log in', async () => {
    const carol = await logIn(app, 'carol-sub');
    const judy = await logIn(app, 'judy-sub');
    const UNLINK = 'mutation { unlinkExternalIdentity(provider: "test") }';
    // Judy's account was made by her login: no password, no other provider.
    const refused = await judy.browser.graphql(UNLINK);
    expect(refused.body.errors?.[0]?.extensions).toMatchObject({
      code: 'BAD_USER_INPUT',
      validationErrors: [expect.objectContaining({ code: 'last_login_method', field: 'provider' })],
    });
    expect(await linksOf('judy-sub')).toHaveLength(1);
    // Carol has a password.
    expect((await carol.browser.graphql(UNLINK)).body).toEqual({ data: { unlinkExternalIdentity: true } });
    expect((await carol.browser.graphql(UNLINK)).body).toEqual({ data: { unlinkExternalIdentity: false } });
    expect(await linksOf('carol-sub')).toEqual([]);
    const { id } = (await selectOne<{ id: number }>(em(), "SELECT id FROM auth_user WHERE username = 'carol'")) ?? {};
    expect(await auditRowsReach(1, "kind = 'provider_unlinked' AND target_user_id = ?", [id])).toEqual([
      { kind: 'provider_unlinked', actor_id: id, details: { provider: 'test' } },
    ]);
  });

  it('never lets two unlinks at once leave an account with no way in, nor a token unlink anything', async () => {
    const { landing, browser } = await logIn(app, 'ivan-sub');
    expect(landing).toEqual({ oidc: 'logged_in' });
    const { id } =
      (await selectOne<{ id: number }>(
        em(),
        "SELECT user_id AS id FROM gqlauth_external_identity WHERE subject = 'ivan-sub'",
      )) ?? {};
    // A second link, to the other configured provider: two ways in, no password.
    await selectAll(
      em(),
      `INSERT INTO gqlauth_external_identity (provider, subject, user_id, email, created_at, last_login_at)
       VALUES ('down', 'ivan-down', ?, '', now(), now()) RETURNING id`,
      [id],
    );
    const unlink = (name: string) => browser.graphql(`mutation { unlinkExternalIdentity(provider: "${name}") }`);
    const answers = await Promise.all([unlink('test'), unlink('down')]);
    const codes = answers.map(({ body }) => body.errors?.[0]?.extensions?.code ?? 'ok');
    expect(codes.sort()).toEqual(['BAD_USER_INPUT', 'ok']);
    expect(await selectAll(em(), 'SELECT id FROM gqlauth_external_identity WHERE user_id = ?', [id])).toHaveLength(1);

    // A token of that user, even unscoped, removes no way to log in.
    const made = await browser.graphql<{ createAccessToken: { token: string } }>(
      'mutation { createAccessToken(input: { name: "script" }) { token } }',
    );
    const token = made.body.data?.createAccessToken.token ?? '';
    const script = new HttpClient(app.url);
    const byToken = await script.graphql('mutation { unlinkExternalIdentity(provider: "test") }', undefined, {
      authorization: `Bearer ${token}`,
    });
    expect(byToken.body.errors?.[0]?.extensions?.code).toBe('SESSION_REQUIRED');
  });

  describe('linking by a logged-in user', () => {
    const LINK_URL = 'mutation ($provider: String!) { oidcLinkUrl(provider: $provider) }';

    async function startLink(browser: HttpClient): Promise<string> {
      const { body } = await browser.graphql<{ oidcLinkUrl: string }>(LINK_URL, { provider: 'test' });
      expect(body.errors).toBeUndefined();
      return body.data?.oidcLinkUrl ?? '';
    }

    async function passwordUser(username: string, email = ''): Promise<HttpClient> {
      await createAuth(app.config).users.createUser(em(), { username, email, password: 'a-long-password-1' });
      const browser = new HttpClient(app.url);
      await browser.graphql(`mutation { login(username: "${username}", password: "a-long-password-1") { id } }`);
      expect(await whoAmI(browser)).toBe(username);
      return browser;
    }

    it('links the account the user logs in to at the provider, whose logins then reach them', async () => {
      // Even with an address the provider did not verify: the user proved both accounts are theirs.
      provider.accounts.set('linker-sub', { email: 'someone-else@example.com', email_verified: false });
      const browser = await passwordUser('linker', 'linker@example.com');
      const url = await startLink(browser);
      expect(new URL(url).searchParams.get('prompt')).toBe('login');
      expect(landed(await callback(browser, await atProvider(browser, url, 'linker-sub')))).toEqual({ oidc: 'linked' });
      expect(await whoAmI(browser)).toBe('linker');
      const { id } =
        (await selectOne<{ id: number }>(em(), "SELECT id FROM auth_user WHERE username = 'linker'")) ?? {};
      expect(await linksOf('linker-sub')).toEqual([{ provider: 'test', user_id: id, email: '' }]);
      expect(await auditRowsReach(1, "kind = 'provider_linked' AND target_user_id = ?", [id])).toEqual([
        { kind: 'provider_linked', actor_id: id, details: { provider: 'test', via: 'user' } },
      ]);
      const later = await logIn(app, 'linker-sub');
      expect(later.landing).toEqual({ oidc: 'logged_in' });
      expect(await whoAmI(later.browser)).toBe('linker');
    });

    it('never moves another user’s provider account', async () => {
      const browser = await passwordUser('grabber');
      const url = await startLink(browser);
      expect(landed(await callback(browser, await atProvider(browser, url, 'alice-sub')))).toEqual({
        error: 'OIDC_ALREADY_LINKED',
      });
      const { id } = (await selectOne<{ id: number }>(em(), "SELECT id FROM auth_user WHERE username = 'alice'")) ?? {};
      expect(await linksOf('alice-sub')).toEqual([expect.objectContaining({ user_id: id })]);
      expect(await whoAmI(browser)).toBe('grabber');
    });

    it('asks for a recent authentication to link: a stolen session must not add a way in', async () => {
      const browser = await passwordUser('stale');
      clock.offsetMs += 901_000;
      try {
        const { body } = await browser.graphql(LINK_URL, { provider: 'test' });
        expect(body.errors?.[0]?.extensions?.code).toBe('REAUTHENTICATION_REQUIRED');
        expect(body.data).toBeNull();
      } finally {
        clock.offsetMs -= 901_000;
      }
    });

    it('refuses a link whose user logged out meanwhile, and an anonymous request for one', async () => {
      provider.accounts.set('late-sub', { email: 'late@example.com', email_verified: true });
      const browser = await passwordUser('leaver');
      const url = await startLink(browser);
      await browser.graphql('mutation { logout }');
      expect(landed(await callback(browser, await atProvider(browser, url, 'late-sub')))).toEqual({
        error: 'OIDC_LINK_USER_CHANGED',
      });
      expect(await linksOf('late-sub')).toEqual([]);
      const anonymous = await new HttpClient(app.url).graphql(LINK_URL, { provider: 'test' });
      expect(anonymous.body.errors?.map((error) => error.extensions?.code)).toEqual(['UNAUTHENTICATED']);
    });
  });

  it('refuses a verified address matching an account when the setting is off, and unknown people when registration is closed', async () => {
    await createAuth(closed.config).users.createUser(closed.database.orm.em.fork(), {
      username: 'carol',
      email: 'carol@example.com',
      password: 'a-long-password-1',
    });
    const linked = await logIn(closed, 'carol-sub');
    expect(linked.landing).toEqual({ error: 'OIDC_ACCOUNT_EXISTS' });
    expect(await whoAmI(linked.browser)).toBeNull();

    provider.accounts.set('kim-sub', { email: 'kim@example.com', email_verified: true });
    const unknown = await logIn(closed, 'kim-sub');
    expect(unknown.landing).toEqual({ error: 'REGISTRATION_CLOSED' });
    expect(await whoAmI(unknown.browser)).toBeNull();

    // An unverified address an account has answers as one nobody has: nothing to learn about who has an account.
    provider.accounts.set('nosy-sub', { email: 'carol@example.com', email_verified: false });
    const nosy = await logIn(closed, 'nosy-sub');
    expect(nosy.landing).toEqual({ error: 'REGISTRATION_CLOSED' });
    expect(await whoAmI(nosy.browser)).toBeNull();
  });

  it('refuses a linked user who is inactive, and ends their sessions', async () => {
    provider.accounts.set('dave-sub', { email: 'dave@example.com', email_verified: true, preferred_username: 'dave' });
    const first = await logIn(app, 'dave-sub');
    expect(await whoAmI(first.browser)).toBe('dave');
    await em().getConnection().execute("UPDATE auth_user SET is_active = false WHERE username = 'dave'");
    expect(await whoAmI(first.browser)).toBeNull();
    const again = await logIn(app, 'dave-sub');
    expect(again.landing).toEqual({ error: 'OIDC_ACCOUNT_INACTIVE' });
    expect(await whoAmI(again.browser)).toBeNull();
  });

  it('counts a second factor as checked only when a trusted provider asserts mfa or otp, for an account linked before', async () => {
    expect(assertsSecondFactor(['pwd', 'otp'])).toBe(true);
    expect(assertsSecondFactor(['mfa'])).toBe(true);
    expect(assertsSecondFactor(['pwd'])).toBe(false);
    expect(assertsSecondFactor(['hwk'])).toBe(false);
    expect(assertsSecondFactor([])).toBe(false);
    // Only from a provider the operator trusts for it, and only for an account linked before this login.
    expect(secondFactorVerifiedBy({ trustAmr: true }, 'subject', ['pwd', 'mfa'])).toBe(true);
    expect(secondFactorVerifiedBy({ trustAmr: false }, 'subject', ['pwd', 'mfa'])).toBe(false);
    expect(secondFactorVerifiedBy({ trustAmr: true }, 'email', ['pwd', 'mfa'])).toBe(false);
    expect(secondFactorVerifiedBy({ trustAmr: true }, 'new_account', ['otp'])).toBe(false);
    expect(secondFactorVerifiedBy({ trustAmr: true }, 'subject', ['pwd'])).toBe(false);
    // The provider's amr reaches the server through the ID token; an account without a second factor logs in either
    // way (loginAs decides).
    provider.accounts.set('otp-sub', { email: 'otp@example.com', email_verified: true });
    expect((await logIn(app, 'otp-sub', ['pwd', 'otp'])).landing).toEqual({ oidc: 'logged_in' });
    expect((await logIn(app, 'otp-sub', ['pwd'])).landing).toEqual({ oidc: 'logged_in' });
  });

  it("holds a provider's login of an account with TOTP until its code, unless a trusted provider asserts mfa or otp", async () => {
    provider.accounts.set('twofa-sub', { email: 'twofa@example.com', email_verified: true });
    const first = await logIn(app, 'twofa-sub', ['pwd']);
    expect(first.landing).toEqual({ oidc: 'logged_in' });
    const username = (await whoAmI(first.browser)) ?? '';
    // Turned on from that session (the login is recent: step-up lets it), with a code of the server's time.
    const started = await first.browser.graphql<{ startTotpEnrollment: { secret: string } }>(
      'mutation { startTotpEnrollment { secret } }',
    );
    const secret = Secret.fromBase32(started.body.data?.startTotpEnrollment.secret ?? '');
    const codeAt = (steps: number) => TOTP.generate({ secret, timestamp: clock.now().getTime() + steps * 30_000 });
    const confirmed = await first.browser.graphql('mutation ($c: String!) { confirmTotp(code: $c) }', {
      c: codeAt(0),
    });
    expect(confirmed.body.errors).toBeUndefined();

    // The provider checked a password only: nobody is logged in, the browser is asked for the code.
    const held = await logIn(app, 'twofa-sub', ['pwd']);
    expect(held.landing).toEqual({ oidc: 'second_factor_required' });
    expect(await whoAmI(held.browser)).toBeNull();
    const guarded = await held.browser.graphql('{ mySessions { id } }');
    expect(guarded.body.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    const pendingSession = await sessionIdOf(held.browser, app.url);
    // The next step's code (this step's was spent confirming): the login completes, under another session id.
    const verified = await held.browser.graphql<{ verifyTotp: { username: string } }>(
      'mutation ($c: String!) { verifyTotp(code: $c) { username } }',
      { c: codeAt(1) },
    );
    expect(verified.body).toEqual({ data: { verifyTotp: { username } } });
    expect(await whoAmI(held.browser)).toBe(username);
    expect(await sessionIdOf(held.browser, app.url)).not.toBe(pendingSession);

    // The provider asserted a second factor of its own: logged in at once. Without amr at all: held.
    const asserted = await logIn(app, 'twofa-sub', ['pwd', 'otp']);
    expect(asserted.landing).toEqual({ oidc: 'logged_in' });
    expect(await whoAmI(asserted.browser)).toBe(username);
    const silent = await logIn(app, 'twofa-sub');
    expect(silent.landing).toEqual({ oidc: 'second_factor_required' });
    expect(await whoAmI(silent.browser)).toBeNull();
  });

  it('answers a clear code for an unknown provider and one that cannot be reached', async () => {
    const browser = new HttpClient(app.url);
    const unknown = await browser.graphql(LOGIN_URL, { provider: 'nope' });
    expect(unknown.body.errors?.map((error) => error.extensions?.code)).toEqual(['OIDC_UNKNOWN_PROVIDER']);
    const down = await browser.graphql(LOGIN_URL, { provider: 'down' });
    expect(down.body.errors?.map((error) => error.extensions?.code)).toEqual(['OIDC_PROVIDER_UNAVAILABLE']);
    expect(JSON.stringify(down.body)).not.toMatch(/ECONNREFUSED|at .*\.js/);

    const viaRoute = await browser.fetch('/auth/oidc/down/login');
    expect(landed(viaRoute.headers.get('location') ?? '')).toEqual({ error: 'OIDC_PROVIDER_UNAVAILABLE' });
    const callbackOfNobody = await browser.fetch('/auth/oidc/nope/callback?code=x&state=y');
    expect(landed(callbackOfNobody.headers.get('location') ?? '')).toEqual({ error: 'OIDC_UNKNOWN_PROVIDER' });
  });

  it('tries discovery again once a provider that could not be reached answers', async () => {
    const browser = new HttpClient(app.url);
    const before = await browser.graphql(LOGIN_URL, { provider: 'down' });
    expect(before.body.errors?.map((error) => error.extensions?.code)).toEqual(['OIDC_PROVIDER_UNAVAILABLE']);
    const back = await startOidcProvider({ redirectUris: [`${app.url}/auth/oidc/down/callback`], port: downPort });
    try {
      const after = await browser.graphql<{ oidcLoginUrl: string }>(LOGIN_URL, { provider: 'down' });
      expect(new URL(after.body.data?.oidcLoginUrl ?? '').origin).toBe(back.issuer);
    } finally {
      await back.stop();
    }
  });

  it('starts a login by the redirect route too', async () => {
    const browser = new HttpClient(app.url);
    const response = await browser.fetch('/auth/oidc/test/login');
    expect(response.status).toBe(303);
    const back = await atProvider(browser, response.headers.get('location') ?? '', 'alice-sub');
    expect(landed(await callback(browser, back))).toEqual({ oidc: 'logged_in' });
    expect(await whoAmI(browser)).toBe('alice');
  });

  it('ends the sessions a provider started once it is removed from the settings', async () => {
    const { browser } = await logIn(app, 'alice-sub');
    expect(await whoAmI(browser)).toBe('alice');
    // Another server on the same database and sessions, whose settings no longer list the provider.
    const shared: Database = Object.create(app.database, { close: { value: () => Promise.resolve() } }) as Database;
    const without = await startServer(
      { ...app.config, port: 0, oidc: { ...app.config.oidc, providers: [] } },
      testLogger,
      shared,
    );
    try {
      const elsewhere = new HttpClient(without.url);
      // The same browser's cookie (cookies are per host, not per port).
      await elsewhere.jar.setCookie(
        (await browser.jar.getCookies(app.url)).find((cookie) => cookie.key === 'sessionid') ?? '',
        without.url,
      );
      expect(await whoAmI(elsewhere)).toBeNull();
    } finally {
      await without.stop();
    }
    // And its session is gone for good, here too.
    expect(await whoAmI(browser)).toBeNull();
  });
});

describe('OIDC_PROVIDERS', () => {
  const provider = { name: 'corp', issuer: 'https://id.example.com', clientId: 'app', clientSecret: 'hunter2-secret' };
  const problems = (value: unknown) => {
    try {
      loadConfig({ NODE_ENV: 'test', OIDC_PROVIDERS: JSON.stringify(value) });
    } catch (error) {
      if (error instanceof ConfigError) return error.problems;
      throw error;
    }
    return [];
  };

  it('reads a list of providers, with openid always among the scopes', () => {
    const config = loadConfig({ NODE_ENV: 'test', OIDC_PROVIDERS: JSON.stringify([provider]) });
    expect(config.oidc.providers).toEqual([
      { ...provider, scopes: ['openid', 'email', 'profile'], label: 'corp', trustAmr: false },
    ]);
    expect(config.oidc.linkVerifiedEmail).toBe(false);
  });

  it('names the setting and what is wrong, never showing the secrets', () => {
    const cases = [
      [{ ...provider, issuer: 'http://id.example.com' }],
      [{ ...provider, name: 'Corp Login' }],
      [provider, provider],
      [{ ...provider, clientId: '' }],
    ];
    for (const value of cases) {
      const [problem] = problems(value);
      expect(problem).toMatch(/^OIDC_PROVIDERS=\(hidden: it holds client secrets\) /);
      expect(problem).not.toContain('hunter2');
    }
    expect(problems([{ ...provider, issuer: 'http://id.example.com' }])[0]).toContain('issuer must be an https URL');
    expect(problems('not json')[0]).toContain('is not a list of providers');
    expect(problems([{ ...provider, issuer: 'http://127.0.0.1:8080' }])).toEqual([]);
  });

  it('is checked for production: https issuers, and a landing page of the front-end', () => {
    const ids = (env: Record<string, string>) =>
      configChecks(loadConfig({ NODE_ENV: 'production', ...env }, '/srv/app', { forChecks: true }), env, {
        deploy: true,
      })
        .map((result) => result.id)
        .filter((id) => id.startsWith('oidc.'));
    const loopback = { ...provider, issuer: 'http://127.0.0.1:8080' };
    expect(ids({ OIDC_PROVIDERS: JSON.stringify([provider]) })).toEqual(['oidc.W002']);
    expect(
      ids({ OIDC_PROVIDERS: JSON.stringify([loopback]), OIDC_LANDING_URL: 'https://app.example.com/done' }),
    ).toEqual(['oidc.E001']);
    expect(
      ids({ OIDC_PROVIDERS: JSON.stringify([provider]), OIDC_LANDING_URL: 'https://app.example.com/done' }),
    ).toEqual([]);
    expect(ids({})).toEqual([]);
    // A Strict session cookie is not sent back from the provider: a link's callback would find nobody logged in.
    const strict = { OIDC_LANDING_URL: 'https://app.example.com/done', SESSION_COOKIE_SAMESITE: 'strict' };
    expect(ids({ OIDC_PROVIDERS: JSON.stringify([provider]), ...strict })).toEqual(['oidc.W003']);
    expect(ids(strict)).toEqual([]);
  });

  it('needs the session cookie sent to the callbacks', () => {
    expect(() =>
      loadConfig({ NODE_ENV: 'test', OIDC_PROVIDERS: JSON.stringify([provider]), SESSION_COOKIE_PATH: '/graphql' }),
    ).toThrow(/SESSION_COOKIE_PATH=\/graphql does not cover the OpenID Connect callbacks \(\/auth\/oidc\/\.\.\.\)/);
    // Behind a proxy that serves the API under /api, the browser sees the callbacks there.
    const proxied = loadConfig({
      NODE_ENV: 'test',
      OIDC_PROVIDERS: JSON.stringify([provider]),
      PUBLIC_URL: 'https://example.com/api',
      SESSION_COOKIE_PATH: '/api/',
    });
    expect(proxied.oidc.callbackPath).toBe('/api/auth/oidc/');
    expect(() =>
      loadConfig({
        NODE_ENV: 'test',
        OIDC_PROVIDERS: JSON.stringify([provider]),
        OIDC_REDIRECT_BASE: 'https://example.com',
        SESSION_COOKIE_PATH: '/api/',
      }),
    ).toThrow(/does not cover the OpenID Connect callbacks \(\/auth\/oidc\/\.\.\.\)/);
  });
});
