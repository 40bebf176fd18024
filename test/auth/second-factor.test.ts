/**
 * The TOTP second factor (RFC 6238) over real HTTP with real cookies: enrolment, the pending login a password leaves
 * when the account has TOTP on (nobody logged in yet), verifying it with a code or a recovery code, the refusals
 * (wrong, replayed, too old or too new, after the pending login expired or died, under the lockout), disabling,
 * an administrator's reset, the secret at rest, and step-up (a recent authentication for sensitive fields).
 *
 * Codes are computed with the server's own library at the time of the server's clock (a TestClock the test moves).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, expect, it } from '@jest/globals';
import { Secret, TOTP } from 'otpauth';
import { createAuth } from '../../src/auth/index.js';
import { SecretBox } from '../../src/auth/secret-box.js';
import { TotpDevices } from '../../src/auth/totp-devices.js';
import { User } from '../../src/entities/user.js';
import type { GraphQLContext } from '../../src/graphql/context.js';
import { buildSchema } from '../../src/graphql/schema.js';
import { resetSecondFactorCommand } from '../../src/cli/second-factor-command.js';
import { selectAll, selectOne } from '../../src/db/sql.js';
import { CHEAP_HASHING } from '../support/auth.js';
import { createTestApp, type TestApp } from '../support/app.js';
import { TestClock } from '../support/clock.js';
import { HttpClient } from '../support/http-client.js';
import { describeEachStore } from '../support/session-stores.js';
import { loggedInClient, sessionCookieValue, sessionIdOf, whoAmI } from '../support/sessions.js';

const PASSWORD = 'a-fine-password-1';
const LOGIN = 'mutation ($u: String!, $p: String!) { login(username: $u, password: $p) { username } }';
const START = 'mutation { startTotpEnrollment { secret uri qrCodeSvg } }';
const CONFIRM = 'mutation ($code: String!) { confirmTotp(code: $code) }';
const VERIFY = 'mutation ($code: String!) { verifyTotp(code: $code) { username } }';
const VERIFY_RECOVERY = 'mutation ($code: String!) { verifyRecoveryCode(code: $code) { username } }';
const DISABLE = 'mutation ($p: String!, $code: String!) { disableTotp(password: $p, code: $code) }';
const REGENERATE = 'mutation ($p: String!, $code: String!) { regenerateRecoveryCodes(password: $p, code: $code) }';
const REAUTHENTICATE = 'mutation ($p: String!, $code: String) { reauthenticate(password: $p, code: $code) }';
const STATUS = '{ mySecondFactor { totpEnabled recoveryCodesLeft } }';
const CREATE_TOKEN = 'mutation { createAccessToken(input: { name: "ci" }) { token } }';
const RESET = 'mutation ($id: ID!) { resetUserSecondFactor(userId: $id) }';

type Body = { data?: Record<string, unknown> | null; errors?: { extensions?: Record<string, unknown> }[] };
const codeOf = (body: Body) => body.errors?.[0]?.extensions?.code;

/** The audit rows `read` finds once the recorder (which writes in the background) has written what `done` expects. */
async function written<T>(read: () => Promise<T[]>, done = (rows: T[]) => rows.length > 0): Promise<T[]> {
  const until = Date.now() + 10_000;
  for (;;) {
    const rows = await read();
    if (done(rows) || Date.now() > until) return rows;
    await sleep(25);
  }
}

const KEY_ONE = 'the-first-encryption-key-of-32-characters';
const KEY_TWO = 'the-second-encryption-key-of-32-characters';

/** An identity provider's callback, as an OIDC login would call it: the user found, `mfa` as the provider asserts. */
const PROVIDER_LOGIN = 'mutation ($u: String!, $mfa: Boolean!) { providerLogin(username: $u, mfa: $mfa) }';
const providerSchema = () =>
  buildSchema({
    typeDefs: ['extend type Mutation { providerLogin(username: String!, mfa: Boolean!): String! @public }'],
    resolvers: [
      {
        Mutation: {
          providerLogin: async (
            _parent: unknown,
            { username, mfa }: { username: string; mfa: boolean },
            { auth, em }: GraphQLContext,
          ) => auth.loginAs(await em.findOneOrFail(User, { username }), 'model', { secondFactorVerified: mfa }),
        },
      },
    ],
  });

describeEachStore('TOTP second factor', (sessionStore) => {
  let app: TestApp;
  const clock = new TestClock();
  const ids: Record<string, number> = {};
  const secrets: Record<string, string> = {};
  const em = () => app.database.orm.em.fork();

  /** The code of `username`'s authenticator `steps` periods away from the server's now. */
  const codeFor = (username: string, steps = 0) =>
    TOTP.generate({
      secret: Secret.fromBase32(secrets[username] ?? ''),
      timestamp: clock.now().getTime() + steps * 30_000,
    });

  const ok = async (client: HttpClient, query: string, variables?: Record<string, unknown>) => {
    const { body } = await client.graphql(query, variables);
    expect(body.errors).toBeUndefined();
    return body.data as Record<string, unknown>;
  };

  /** Logs `username` in with the password, enrols and confirms TOTP; answers the client and the recovery codes. */
  const enrolled = async (username: string) => {
    const client = await loggedInClient(app.url, username, PASSWORD);
    const { startTotpEnrollment } = (await ok(client, START)) as { startTotpEnrollment: { secret: string } };
    secrets[username] = startTotpEnrollment.secret;
    const { confirmTotp } = (await ok(client, CONFIRM, { code: codeFor(username) })) as { confirmTotp: string[] };
    // Codes of this step are used up by the confirmation: the next login waits for the next one.
    clock.advance(30);
    return { client, recoveryCodes: confirmTotp };
  };

  /** Grants `username` the permission `auth.<codename>` (in SQL: the test's own set-up, not the API under test). */
  const grantAuth = (username: string, codename: string) =>
    selectAll(
      em(),
      `INSERT INTO auth_user_user_permissions (user_id, permission_id)
       SELECT ?, p.id FROM auth_permission p JOIN django_content_type ct ON ct.id = p.content_type_id
        WHERE ct.app_label = 'auth' AND p.codename = ? RETURNING id`,
      [ids[username], codename],
    );

  /** A new browser whose password login is pending its second factor. */
  const pending = async (username: string) => {
    const client = new HttpClient(app.url);
    const { body } = await client.graphql(LOGIN, { u: username, p: PASSWORD });
    expect(codeOf(body)).toBe('SECOND_FACTOR_REQUIRED');
    return client;
  };

  beforeAll(async () => {
    app = await createTestApp({
      clock,
      sessionStore,
      schema: providerSchema(),
      env: {
        ...CHEAP_HASHING,
        LOCKOUT_LIMIT: '5',
        SECOND_FACTOR_TIMEOUT: '300',
        SECRET_ENCRYPTION_KEYS: KEY_ONE,
        // One test speaks for several addresses (X-Forwarded-For from the loopback proxy it plays).
        TRUST_PROXY: 'loopback',
      },
    });
    const auth = createAuth(app.config);
    const users =
      'alice bob carol dave erin frank gina hank ivy judy kate leo mia nina otto pia quinn staff root boss'.split(' ');
    for (const username of users) {
      const extra =
        username === 'root' || username === 'boss'
          ? { isStaff: true, isSuperuser: true }
          : username === 'staff'
            ? { isStaff: true }
            : {};
      ids[username] = (await auth.users.createUser(em(), { username, password: PASSWORD, ...extra })).id;
    }
  });
  afterAll(() => app.stop());

  it('enrols: a secret, its otpauth:// URI and an SVG QR code; confirmed by a right code only', async () => {
    const client = await loggedInClient(app.url, 'alice', PASSWORD);
    const started = (await ok(client, START)).startTotpEnrollment as { secret: string; uri: string; qrCodeSvg: string };
    expect(started.secret).toMatch(/^[A-Z2-7]{32}$/);
    expect(started.uri).toMatch(/^otpauth:\/\/totp\/.*alice\?/);
    expect(started.uri).toContain(`secret=${started.secret}`);
    expect(started.qrCodeSvg).toMatch(/^<svg[\s\S]*<\/svg>\s*$/);
    secrets.alice = started.secret;
    // Not on before it is confirmed: a login is still a one-step login.
    expect(await ok(client, STATUS)).toEqual({ mySecondFactor: { totpEnabled: false, recoveryCodesLeft: 0 } });
    expect(await whoAmI(await loggedInClient(app.url, 'alice', PASSWORD))).toBe('alice');

    expect(codeOf((await client.graphql(CONFIRM, { code: codeFor('alice', 3) })).body)).toBe('INVALID_CODE');
    expect(codeOf((await client.graphql(CONFIRM, { code: 'abcdef' })).body)).toBe('INVALID_CODE');
    const { confirmTotp } = (await ok(client, CONFIRM, { code: codeFor('alice') })) as { confirmTotp: string[] };
    expect(confirmTotp).toHaveLength(10);
    expect(new Set(confirmTotp).size).toBe(10);
    expect(await ok(client, STATUS)).toEqual({ mySecondFactor: { totpEnabled: true, recoveryCodesLeft: 10 } });
    // Enrolling again while on is refused: turning it off takes the password and a code.
    expect(codeOf((await client.graphql(START)).body)).toBe('TOTP_ALREADY_ENABLED');
    clock.advance(30);
  });

  it('keeps the secret encrypted at rest, and the recovery codes as keyed hashes', async () => {
    const [device] = await selectAll<{ secret: string; confirmed_at: Date | null }>(
      em(),
      'SELECT secret, confirmed_at FROM gqlauth_totp_device WHERE user_id = ?',
      [ids.alice],
    );
    expect(device?.confirmed_at).not.toBeNull();
    expect(device?.secret).not.toContain(secrets.alice ?? '-');
    expect(device?.secret).not.toContain(Secret.fromBase32(secrets.alice ?? '').hex);
    // Named by its key's id, so that a rotated key still decrypts it.
    expect(device?.secret).toMatch(/^[0-9a-f]{8}\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/);
    const codes = await selectAll<{ code_hash: string }>(
      em(),
      'SELECT code_hash FROM gqlauth_recovery_code WHERE user_id = ?',
      [ids.alice],
    );
    expect(codes).toHaveLength(10);
    for (const { code_hash } of codes) expect(code_hash).toMatch(/^[0-9a-f]{8}\.[0-9a-f]{64}$/);
  });

  it('still reads the secrets after a key rotation, and moves each to the new key at its next use', async () => {
    const rotated = new TotpDevices(new SecretBox([KEY_TWO, KEY_ONE]), { issuer: 'test' }, clock);
    const newKeyId = new SecretBox([KEY_TWO]).currentKeyId;
    const stored = async () =>
      (
        await selectOne<{ secret: string }>(em(), 'SELECT secret FROM gqlauth_totp_device WHERE user_id = ?', [
          ids.alice,
        ])
      )?.secret ?? '';
    expect((await stored()).startsWith(`${newKeyId}.`)).toBe(false);
    expect(await rotated.verify(em(), ids.alice ?? 0, codeFor('alice'))).toBe(true);
    expect((await stored()).startsWith(`${newKeyId}.`)).toBe(true);
    // The old key may go now: this device no longer needs it.
    clock.advance(30);
    const newOnly = new TotpDevices(new SecretBox([KEY_TWO]), { issuer: 'test' }, clock);
    expect(await newOnly.verify(em(), ids.alice ?? 0, codeFor('alice'))).toBe(true);
    // And the server, whose list has the old key only, no longer reads it: keys are dropped after rotation, not before.
    clock.advance(30);
    // A stable code the front-end can explain (an administrator resets the second factor), never an internal error.
    const { body } = await (await pending('alice')).graphql(VERIFY, { code: codeFor('alice') });
    expect(codeOf(body)).toBe('SECOND_FACTOR_UNAVAILABLE');
    // Back under the server's key, for the tests that follow.
    const back = new TotpDevices(new SecretBox([KEY_ONE, KEY_TWO]), { issuer: 'test' }, clock);
    clock.advance(30);
    expect(await back.verify(em(), ids.alice ?? 0, codeFor('alice'))).toBe(true);
    clock.advance(30);
  });

  it('asks an identity provider login for the second factor too, unless the provider asserted MFA', async () => {
    const client = new HttpClient(app.url);
    expect((await client.graphql(PROVIDER_LOGIN, { u: 'alice', mfa: false })).body).toEqual({
      data: { providerLogin: 'second_factor_required' },
    });
    expect(await whoAmI(client)).toBeNull();
    await ok(client, VERIFY, { code: codeFor('alice') });
    expect(await whoAmI(client)).toBe('alice');
    clock.advance(30);
    const asserted = new HttpClient(app.url);
    expect(await ok(asserted, PROVIDER_LOGIN, { u: 'alice', mfa: true })).toEqual({ providerLogin: 'complete' });
    expect(await whoAmI(asserted)).toBe('alice');
  });

  it('leaves a password login pending: nobody is logged in, a guarded field is refused', async () => {
    const client = new HttpClient(app.url);
    const { body } = await client.graphql(LOGIN, { u: 'alice', p: PASSWORD });
    expect(body).toMatchObject({
      data: null,
      errors: [{ extensions: { code: 'SECOND_FACTOR_REQUIRED', methods: ['TOTP', 'RECOVERY_CODE'] } }],
    });
    expect(await sessionCookieValue(client, app.url)).toBeDefined();
    expect(await whoAmI(client)).toBeNull();
    expect(codeOf((await client.graphql('{ mySessions { id } }')).body)).toBe('UNAUTHENTICATED');
    expect(codeOf((await client.graphql(STATUS)).body)).toBe('UNAUTHENTICATED');
  });

  it('leaves no authenticated session behind: a browser logged in as someone else is logged out by it', async () => {
    const client = await loggedInClient(app.url, 'ivy', PASSWORD);
    const before = await sessionCookieValue(client, app.url);
    expect(codeOf((await client.graphql(LOGIN, { u: 'alice', p: PASSWORD })).body)).toBe('SECOND_FACTOR_REQUIRED');
    expect(await whoAmI(client)).toBeNull();
    // The earlier session is gone, not merely hidden: its cookie, replayed, is anonymous.
    const replay = new HttpClient(app.url);
    await replay.jar.setCookie(`sessionid=${before ?? ''}; Path=/`, app.url);
    expect(await whoAmI(replay)).toBeNull();
  });

  it('completes it with a code of this step or one step either side, under a new session id', async () => {
    for (const steps of [0, -1, 1]) {
      const client = await pending('alice');
      const before = await sessionCookieValue(client, app.url);
      const { body } = await client.graphql(VERIFY, { code: codeFor('alice', steps) });
      expect(body).toEqual({ data: { verifyTotp: { username: 'alice' } } });
      expect(await whoAmI(client)).toBe('alice');
      const after = await sessionCookieValue(client, app.url);
      expect(after).toBeDefined();
      expect(after).not.toBe(before);
      // The pending session's id is dead: replaying it is anonymous.
      const replay = new HttpClient(app.url);
      await replay.jar.setCookie(`sessionid=${before ?? ''}; Path=/`, app.url);
      expect(await whoAmI(replay)).toBeNull();
      // Each step's code is used once: the next round starts in a step of its own.
      clock.advance(90);
    }
  });

  it('gives the browser its device cookie once both factors passed, never for the password alone', async () => {
    const device = async (client: HttpClient) =>
      (await client.jar.getCookies(app.url)).find((cookie) => cookie.key === app.config.lockout.deviceCookieName);
    expect(await device(await loggedInClient(app.url, 'judy', PASSWORD))).toBeDefined();
    const client = await pending('alice');
    expect(await device(client)).toBeUndefined();
    await ok(client, VERIFY, { code: codeFor('alice') });
    expect(await device(client)).toBeDefined();
    clock.advance(30);
  });

  it('ends a pending login when the password changes meanwhile (a reset by the owner, say)', async () => {
    await enrolled('kate');
    const client = await pending('kate');
    const manager = em();
    const kate = await manager.findOneOrFail(User, { id: ids.kate ?? 0 });
    await createAuth(app.config).passwords.setPassword(kate, 'another-fine-password-2');
    await manager.flush();
    expect(codeOf((await client.graphql(VERIFY, { code: codeFor('kate') })).body)).toBe('NO_PENDING_LOGIN');
    expect(await whoAmI(client)).toBeNull();
  });

  it('ends a pending login when its user is deactivated meanwhile', async () => {
    await enrolled('quinn');
    const client = await pending('quinn');
    await selectAll(em(), 'UPDATE auth_user SET is_active = false WHERE id = ? RETURNING id', [ids.quinn]);
    expect(codeOf((await client.graphql(VERIFY, { code: codeFor('quinn') })).body)).toBe('NO_PENDING_LOGIN');
    expect(await whoAmI(client)).toBeNull();
  });

  it('does not take a password change for a recent authentication: with TOTP on, step-up wants the code', async () => {
    const { client } = await enrolled('leo');
    clock.advance(901);
    const change = 'mutation ($o: String!, $n: String!) { changePassword(oldPassword: $o, newPassword: $n) }';
    await ok(client, change, { o: PASSWORD, n: 'a-newer-password-3' });
    expect(codeOf((await client.graphql(REGENERATE, { p: PASSWORD, code: '000000' })).body)).toBe(
      'REAUTHENTICATION_REQUIRED',
    );
  });

  it('refuses codes two steps away, and a code used once (replay), however right', async () => {
    const client = await pending('alice');
    for (const steps of [-2, 2]) {
      expect(codeOf((await client.graphql(VERIFY, { code: codeFor('alice', steps) })).body)).toBe('INVALID_CODE');
    }
    const code = codeFor('alice');
    await ok(client, VERIFY, { code });
    const again = await pending('alice');
    expect(codeOf((await again.graphql(VERIFY, { code })).body)).toBe('INVALID_CODE');
    expect(await whoAmI(again)).toBeNull();
    clock.advance(30);
    await ok(again, VERIFY, { code: codeFor('alice') });
    expect(await whoAmI(again)).toBe('alice');
  });

  it('refuses verifyTotp without a pending login, and once the pending login expired', async () => {
    expect(codeOf((await new HttpClient(app.url).graphql(VERIFY, { code: codeFor('alice') })).body)).toBe(
      'NO_PENDING_LOGIN',
    );
    const client = await pending('alice');
    clock.advance(301);
    expect(codeOf((await client.graphql(VERIFY, { code: codeFor('alice') })).body)).toBe('NO_PENDING_LOGIN');
    expect(await whoAmI(client)).toBeNull();
  });

  it("keeps a pending login in the store for SECOND_FACTOR_TIMEOUT, not for a session's life", async () => {
    const client = await pending('alice');
    const sid = (await sessionIdOf(client, app.url)) ?? '';
    expect(await app.sessions.exists(sid)).toBe(true);
    clock.advance(301);
    // Forgotten by the store as a session past its timeouts is (Redis expires keys in real time: PostgreSQL's rows
    // are the ones a test can age).
    if (sessionStore === 'postgres') {
      await app.sessions.store.clearExpired();
      expect(await app.sessions.exists(sid)).toBe(false);
    }
    expect(codeOf((await client.graphql(VERIFY, { code: codeFor('alice') })).body)).toBe('NO_PENDING_LOGIN');
  });

  it('ends a pending login after three wrong codes', async () => {
    await enrolled('bob');
    const client = await pending('bob');
    for (let i = 0; i < 3; i++)
      expect(codeOf((await client.graphql(VERIFY, { code: '000000' })).body)).toBe('INVALID_CODE');
    expect(codeOf((await client.graphql(VERIFY, { code: codeFor('bob') })).body)).toBe('NO_PENDING_LOGIN');
    expect(await whoAmI(client)).toBeNull();
  });

  it('counts wrong codes under the lockout, apart from passwords: locked codes, however right, while the password still passes', async () => {
    await enrolled('carol');
    let client = await pending('carol');
    for (let i = 0; i < 3; i++) await client.graphql(VERIFY, { code: '000000' });
    // A right password in between does not start the count again: only a complete login does.
    client = await pending('carol');
    for (let i = 0; i < 2; i++)
      expect(codeOf((await client.graphql(VERIFY, { code: '000000' })).body)).toBe('INVALID_CODE');
    expect(codeOf((await client.graphql(VERIFY, { code: codeFor('carol') })).body)).toBe('TOO_MANY_ATTEMPTS');
    // The password's own count is untouched (a code guessed wrong is no password guessed wrong): it leads to the
    // code again, which stays locked.
    const again = await new HttpClient(app.url).graphql(LOGIN, { u: 'carol', p: PASSWORD });
    expect(codeOf(again.body)).toBe('SECOND_FACTOR_REQUIRED');
  });

  it('holds back code guesses spread over addresses: LOCKOUT_SECOND_FACTOR_LIMIT in a row per account, not the owner’s browser', async () => {
    const { client: owner } = await enrolled('pia');
    // Ten addresses, one wrong code each: under every address's own limit, but the account's count is spent.
    for (let n = 0; n < 10; n++) {
      const stranger = new HttpClient(app.url);
      const from = { 'x-forwarded-for': `203.0.113.${n + 1}` };
      expect(codeOf((await stranger.graphql(LOGIN, { u: 'pia', p: PASSWORD }, from)).body)).toBe(
        'SECOND_FACTOR_REQUIRED',
      );
      expect(codeOf((await stranger.graphql(VERIFY, { code: '000000' }, from)).body)).toBe('INVALID_CODE');
    }
    const eleventh = new HttpClient(app.url);
    const from = { 'x-forwarded-for': '198.51.100.77' };
    await eleventh.graphql(LOGIN, { u: 'pia', p: PASSWORD }, from);
    expect(codeOf((await eleventh.graphql(VERIFY, { code: codeFor('pia') }, from)).body)).toBe('TOO_MANY_ATTEMPTS');
    // The owner's browser (its device cookie, from a login before) is counted apart: the right code passes there.
    await owner.graphql('mutation { logout }');
    expect(codeOf((await owner.graphql(LOGIN, { u: 'pia', p: PASSWORD })).body)).toBe('SECOND_FACTOR_REQUIRED');
    await ok(owner, VERIFY, { code: codeFor('pia') });
    expect(await whoAmI(owner)).toBe('pia');
    clock.advance(30);
  });

  it('ends every other session of the account when TOTP is turned on: they were made with the password alone', async () => {
    const elsewhere = await loggedInClient(app.url, 'nina', PASSWORD);
    const { client } = await enrolled('nina');
    expect(await whoAmI(client)).toBe('nina');
    expect(await whoAmI(elsewhere)).toBeNull();
  });

  it('takes each recovery code once; regenerating voids the old ones', async () => {
    const { client: owner, recoveryCodes } = await enrolled('dave');
    const [first = '', second = ''] = recoveryCodes;
    let client = await pending('dave');
    // Typed as people type them: upper case, spaces.
    await ok(client, VERIFY_RECOVERY, { code: ` ${first.toUpperCase()} ` });
    expect(await whoAmI(client)).toBe('dave');
    expect(await ok(client, STATUS)).toEqual({ mySecondFactor: { totpEnabled: true, recoveryCodesLeft: 9 } });
    client = await pending('dave');
    expect(codeOf((await client.graphql(VERIFY_RECOVERY, { code: first })).body)).toBe('INVALID_CODE');

    // New codes are a way in: the session alone (recent as it is) does not make them; the password and a code do.
    const wrongPassword = await owner.graphql(REGENERATE, { p: 'not-the-password', code: codeFor('dave') });
    expect(codeOf(wrongPassword.body)).toBe('INVALID_CREDENTIALS');
    const wrongCode = await owner.graphql(REGENERATE, { p: PASSWORD, code: '000000' });
    expect(codeOf(wrongCode.body)).toBe('INVALID_CODE');
    const { regenerateRecoveryCodes } = (await ok(owner, REGENERATE, { p: PASSWORD, code: codeFor('dave') })) as {
      regenerateRecoveryCodes: string[];
    };
    expect(regenerateRecoveryCodes).toHaveLength(10);
    expect(regenerateRecoveryCodes).not.toContain(second);
    expect(codeOf((await client.graphql(VERIFY_RECOVERY, { code: second })).body)).toBe('INVALID_CODE');
    await ok(client, VERIFY_RECOVERY, { code: regenerateRecoveryCodes[0] });
    expect(await whoAmI(client)).toBe('dave');
  });

  it('turns TOTP off only with the password and a code; then a login is one step again', async () => {
    const { client } = await enrolled('erin');
    expect(codeOf((await client.graphql(DISABLE, { p: 'wrong-password', code: codeFor('erin') })).body)).toBe(
      'INVALID_CREDENTIALS',
    );
    expect(codeOf((await client.graphql(DISABLE, { p: PASSWORD, code: '123456' })).body)).toBe('INVALID_CODE');
    expect(await ok(client, DISABLE, { p: PASSWORD, code: codeFor('erin') })).toEqual({ disableTotp: true });
    expect(await ok(client, STATUS)).toEqual({ mySecondFactor: { totpEnabled: false, recoveryCodesLeft: 0 } });
    expect(await whoAmI(await loggedInClient(app.url, 'erin', PASSWORD))).toBe('erin');
  });

  it('asks for a recent authentication before sensitive fields, which reauthenticate refreshes', async () => {
    const { client } = await enrolled('frank');
    clock.advance(901);
    // The session is alive; its authentication is older than STEP_UP_MAX_AGE (900 s).
    expect(await whoAmI(client)).toBe('frank');
    const { body } = await client.graphql(CREATE_TOKEN);
    expect(body.errors?.[0]?.extensions).toMatchObject({ code: 'REAUTHENTICATION_REQUIRED', maxAgeSeconds: 900 });
    expect(codeOf((await client.graphql(REGENERATE, { p: PASSWORD, code: '000000' })).body)).toBe(
      'REAUTHENTICATION_REQUIRED',
    );
    // With TOTP on, the password alone does not do.
    expect(codeOf((await client.graphql(REAUTHENTICATE, { p: PASSWORD })).body)).toBe('INVALID_CODE');
    expect(codeOf((await client.graphql(REAUTHENTICATE, { p: 'nope-nope-1', code: codeFor('frank') })).body)).toBe(
      'INVALID_CREDENTIALS',
    );
    await ok(client, REAUTHENTICATE, { p: PASSWORD, code: codeFor('frank') });
    expect(await ok(client, CREATE_TOKEN)).toMatchObject({ createAccessToken: { token: expect.any(String) } });
    // A fresh login counts as a recent authentication too (verifyTotp sets it).
    clock.advance(30);
    const fresh = await pending('frank');
    await ok(fresh, VERIFY, { code: codeFor('frank') });
    await ok(fresh, CREATE_TOKEN);
    clock.advance(30);
  });

  it('lets an account without TOTP reauthenticate with its password alone', async () => {
    const client = await loggedInClient(app.url, 'ivy', PASSWORD);
    clock.advance(901);
    expect(codeOf((await client.graphql(CREATE_TOKEN)).body)).toBe('REAUTHENTICATION_REQUIRED');
    await ok(client, REAUTHENTICATE, { p: PASSWORD });
    await ok(client, CREATE_TOKEN);
  });

  it('excepts access tokens from the second factor, and refuses them the fields that ask for a recent authentication', async () => {
    const { client } = await enrolled('hank');
    const { createAccessToken } = (await ok(client, CREATE_TOKEN)) as { createAccessToken: { token: string } };
    const bearer = { authorization: `Bearer ${createAccessToken.token}` };
    // Created by a session that passed both factors (and step-up): it authenticates alone.
    const me = await new HttpClient(app.url).graphql('{ me { username } }', undefined, bearer);
    expect(me.body).toEqual({ data: { me: { username: 'hank' } } });
    // It has no authentication time and cannot reauthenticate: SESSION_REQUIRED, not a prompt it could never answer.
    const again = await new HttpClient(app.url).graphql(CREATE_TOKEN, undefined, bearer);
    expect(codeOf(again.body)).toBe('SESSION_REQUIRED');
    const verify = await new HttpClient(app.url).graphql(VERIFY, { code: codeFor('hank') }, bearer);
    expect(codeOf(verify.body)).toBe('SESSION_REQUIRED');
    clock.advance(30);
  });

  it("lets an administrator reset a user's second factor: audited, the user's sessions ended", async () => {
    const { client: user } = await enrolled('gina');
    const { client: boss } = await enrolled('boss');
    // Not without auth.change_user (and staff, as every user administration).
    const plain = await loggedInClient(app.url, 'judy', PASSWORD);
    expect(codeOf((await plain.graphql(RESET, { id: String(ids.gina) })).body)).toBe('FORBIDDEN');
    // Only a superuser resets a superuser's.
    await grantAuth('staff', 'change_user');
    const staff = await loggedInClient(app.url, 'staff', PASSWORD);
    expect(codeOf((await staff.graphql(RESET, { id: String(ids.boss) })).body)).toBe('FORBIDDEN');
    expect(await whoAmI(boss)).toBe('boss');
    // Nor anyone's who holds a permission the caller lacks (otto: delete_user, which staff has not).
    const { client: otto } = await enrolled('otto');
    await grantAuth('otto', 'delete_user');
    expect(codeOf((await staff.graphql(RESET, { id: String(ids.otto) })).body)).toBe('FORBIDDEN');
    expect(await whoAmI(otto)).toBe('otto');
    const root = await loggedInClient(app.url, 'root', PASSWORD);
    // Nor one's own: disableTotp asks for the password and a code, a session alone is not the second factor.
    expect(codeOf((await boss.graphql(RESET, { id: String(ids.boss) })).body)).toBe('FORBIDDEN');

    // gina's token, made while the account may have been in other hands, does not outlive the reset.
    const made = await user.graphql<{ createAccessToken: { token: string } }>(CREATE_TOKEN);
    const bearer = { authorization: `Bearer ${made.body.data?.createAccessToken.token ?? ''}` };
    expect((await new HttpClient(app.url).graphql('{ me { username } }', undefined, bearer)).body).toEqual({
      data: { me: { username: 'gina' } },
    });
    expect(await ok(root, RESET, { id: String(ids.gina) })).toEqual({ resetUserSecondFactor: true });
    expect(await whoAmI(user)).toBeNull();
    const afterReset = await new HttpClient(app.url).graphql('{ me { username } }', undefined, bearer);
    expect(afterReset.status).toBe(401);
    expect(await whoAmI(await loggedInClient(app.url, 'gina', PASSWORD))).toBe('gina');
    expect(
      await selectOne(em(), 'SELECT count(*)::int AS n FROM gqlauth_recovery_code WHERE user_id = ?', [ids.gina]),
    ).toEqual({ n: 0 });
    const rows = await written(() =>
      selectAll(em(), "SELECT actor_id, target_user_id FROM gqlauth_audit_event WHERE kind = 'second_factor_reset'"),
    );
    expect(rows).toEqual([{ actor_id: ids.root, target_user_id: ids.gina }]);
    // Resetting someone who has none says so.
    expect(codeOf((await root.graphql(RESET, { id: String(ids.ivy) })).body)).toBe('TOTP_NOT_ENABLED');
  });

  it('lets an operator reset it from the command line (the only superuser lost their phone)', async () => {
    const { client: owner } = await enrolled('mia');
    const out: string[] = [];
    const err: string[] = [];
    const auth = createAuth(app.config);
    const heard: unknown[] = [];
    auth.events.on('secondFactorReset', (event) => {
      heard.push(event);
    });
    const deps = {
      em: em(),
      auth,
      config: app.config,
      sessions: { endSessionsOf: (userId: number) => app.sessions.store.destroyForUser(userId) },
      out: (line: string) => out.push(line),
      err: (line: string) => err.push(line),
    };
    expect(await resetSecondFactorCommand('nobody-here', deps)).toBe(1);
    expect(err).toEqual(["error: user 'nobody-here' does not exist"]);
    expect(await resetSecondFactorCommand('mia', deps)).toBe(0);
    expect(out).toEqual(["Two-factor authentication of user 'mia' reset: 1 session(s) ended."]);
    expect(await whoAmI(owner)).toBeNull();
    expect(await whoAmI(await loggedInClient(app.url, 'mia', PASSWORD))).toBe('mia');
    expect(await resetSecondFactorCommand('mia', deps)).toBe(1);
    expect(err.at(-1)).toBe("error: user 'mia' has no two-factor authentication on");
    // Heard by the command's audit recorder (manage.ts listens as the server does): no actor, an operator ran it.
    expect(heard).toEqual([{ actorId: null, userId: ids.mia }]);
  });

  it('audits TOTP turned on, logins with the method used, failures, recovery codes', async () => {
    const kinds = await written(
      () =>
        selectAll<{ kind: string; details: Record<string, unknown> }>(
          em(),
          'SELECT kind, details FROM gqlauth_audit_event WHERE target_user_id = ? ORDER BY id',
          [ids.dave],
        ),
      (rows) => rows.some(({ kind }) => kind === 'recovery_codes_regenerated'),
    );
    const seen = kinds.map(({ kind }) => kind);
    expect(seen).toEqual(
      expect.arrayContaining([
        'totp_enabled',
        'recovery_code_used',
        'second_factor_failed',
        'recovery_codes_regenerated',
      ]),
    );
    expect(
      kinds.find(({ kind, details }) => kind === 'login' && details.secondFactor === 'recovery_code'),
    ).toBeDefined();
  });
});
