/**
 * Password reset by e-mailed link, end to end: requestPasswordReset over HTTP, the e-mail through a real SMTP server,
 * resetPassword with the link's uid and token. A token works once, and fails after use, after PASSWORD_RESET_TIMEOUT,
 * after the password changed and after a login; nothing in the answers tells whether an address has an account.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Writable } from 'node:stream';
import { createAuth, type Auth } from '../../src/auth/index.js';
import { encodeUid } from '../../src/auth/password-reset.js';
import { User } from '../../src/entities/user.js';
import { createLogger } from '../../src/logger.js';
import { createTestApp, type TestApp } from '../support/app.js';
import { CHEAP_HASHING } from '../support/auth.js';
import { TestClock } from '../support/clock.js';
import { HttpClient } from '../support/http-client.js';
import { loggedInClient, whoAmI } from '../support/sessions.js';
import { describeEachStore } from '../support/session-stores.js';
import { startSmtpServer, type ReceivedMail, type TestSmtpServer } from '../support/smtp.js';

const REQUEST = 'mutation ($email: String!) { requestPasswordReset(email: $email) }';
const RESET =
  'mutation ($uid: ID!, $token: String!, $pw: String!) { resetPassword(uid: $uid, token: $token, newPassword: $pw) }';
const LOGIN = 'mutation ($u: String!, $p: String!) { login(username: $u, password: $p) { id } }';
const LINK = /^https:\/\/app\.example\.com\/reset\/([^/\s]+)\/([^/\s]+)\/$/m;
const TIMEOUT = 3600;

interface Link {
  uid: string;
  token: string;
}

function linkIn(mail: ReceivedMail): Link {
  const match = LINK.exec(mail.text);
  if (!match?.[1] || !match[2]) throw new Error(`no reset link in:\n${mail.text}`);
  return { uid: decodeURIComponent(match[1]), token: decodeURIComponent(match[2]) };
}

describeEachStore('password reset', (sessionStore) => {
  let smtp: TestSmtpServer;
  let app: TestApp;
  let auth: Auth;
  const clock = new TestClock();
  const ids: Record<string, number> = {};

  beforeAll(async () => {
    smtp = await startSmtpServer({ user: 'mailer', password: 'p@ss word' });
    app = await createTestApp({
      clock,
      sessionStore,
      env: {
        ...CHEAP_HASHING,
        SMTP_URL: smtp.url,
        MAIL_FROM: 'Accounts <accounts@example.com>',
        PASSWORD_RESET_URL: 'https://app.example.com/reset/{uid}/{token}/',
        PASSWORD_RESET_TIMEOUT: String(TIMEOUT),
        // Links are asked for many times here; the throttle has its own test (reset-throttle.test.ts).
        PASSWORD_RESET_EMAIL_LIMIT: '0',
      },
    });
    auth = createAuth(app.config, { clock });
    const em = app.database.orm.em.fork();
    const make = async (username: string, email: string) => {
      ids[username] = (await auth.users.createUser(em, { username, email, password: `${username}-password-1` })).id;
    };
    for (const name of ['alice', 'bob', 'carol', 'dave', 'erin', 'frank', 'grace', 'henry']) {
      await make(name, `${name}@example.com`);
    }
  });
  afterAll(async () => {
    await app.stop();
    await smtp.stop();
  });

  const request = (email: string, client = new HttpClient(app.url)) => client.graphql(REQUEST, { email });
  const reset = (link: Link, pw: string) =>
    new HttpClient(app.url).graphql<{ resetPassword: boolean }>(RESET, { ...link, pw });
  const sessionsOf = (username: string) => app.sessions.count({ userId: ids[username] ?? 0 });
  const codeOf = (response: Awaited<ReturnType<typeof reset>>) => response.body.errors?.[0]?.extensions?.code;
  const canLogIn = async (username: string, password: string) =>
    !(await new HttpClient(app.url).graphql(LOGIN, { u: username, p: password })).body.errors;
  /** Asks for a link for `username` (whose address is username@example.com) and reads it from the e-mail. */
  const linkFor = async (username: string): Promise<Link> => {
    expect((await request(`${username}@example.com`)).body).toEqual({ data: { requestPasswordReset: true } });
    const mail = await smtp.next();
    expect(mail.to).toEqual([`${username}@example.com`]);
    return linkIn(mail);
  };

  it("sends Django's e-mail with a link carrying Django's uid and a token", async () => {
    expect((await request('alice@example.com')).body).toEqual({ data: { requestPasswordReset: true } });
    const mail = await smtp.next();
    expect(mail.from).toBe('accounts@example.com');
    expect(mail.to).toEqual(['alice@example.com']);
    expect(mail.headers.subject).toBe('Password reset on app.example.com');
    expect(mail.headers.from).toBe('Accounts <accounts@example.com>');
    expect(mail.text).toContain("Your username, in case you've forgotten: alice");
    expect(mail.text).toContain('The link works once, for 1 hour at most.');
    const link = linkIn(mail);
    expect(link.uid).toBe(encodeUid(ids.alice ?? 0));
    expect(link.uid).toBe(Buffer.from(String(ids.alice)).toString('base64url')); // Django's urlsafe_base64_encode
    expect(link.token).toMatch(/^[0-9a-z]+-[0-9a-f]{32}$/);
  });

  it('sets the new password, ends every session of the user, and the token then fails', async () => {
    const [laptop, phone] = [
      await loggedInClient(app.url, 'bob', 'bob-password-1'),
      await loggedInClient(app.url, 'bob', 'bob-password-1'),
    ];
    const carols = await loggedInClient(app.url, 'carol', 'carol-password-1');
    const link = await linkFor('bob');
    expect(await sessionsOf('bob')).toBe(2);

    expect((await reset(link, 'a-brand-new-secret-7')).body).toEqual({ data: { resetPassword: true } });
    // Deleted from the store, not merely refused on their next request (their auth hash no longer matches).
    expect(await sessionsOf('bob')).toBe(0);
    expect(await canLogIn('bob', 'a-brand-new-secret-7')).toBe(true);
    expect(await canLogIn('bob', 'bob-password-1')).toBe(false);
    expect(await whoAmI(laptop)).toBeNull();
    expect(await whoAmI(phone)).toBeNull();
    expect(await whoAmI(carols)).toBe('carol'); // nobody else's

    // Used once: the same link again, even with the same password again, is refused.
    expect(codeOf(await reset(link, 'a-brand-new-secret-7'))).toBe('INVALID_TOKEN');
    expect(codeOf(await reset(link, 'another-new-secret-8'))).toBe('INVALID_TOKEN');
    expect(await canLogIn('bob', 'a-brand-new-secret-7')).toBe(true);
  });

  it('works up to PASSWORD_RESET_TIMEOUT seconds after the request, not a second longer', async () => {
    const start = clock.now();
    const link = await linkFor('carol');
    clock.set(new Date(start.getTime() + (TIMEOUT + 1) * 1000));
    const late = await reset(link, 'carols-new-secret-9');
    clock.set(new Date(start.getTime() + TIMEOUT * 1000));
    const justInTime = await reset(link, 'carols-new-secret-9');
    clock.set(start);
    expect(codeOf(late)).toBe('INVALID_TOKEN');
    expect(justInTime.body).toEqual({ data: { resetPassword: true } });
  });

  it('fails once the user has logged in since the link was made (last_login is in the token)', async () => {
    const link = await linkFor('dave');
    clock.advance(5); // last_login is kept to the second in the token
    await loggedInClient(app.url, 'dave', 'dave-password-1');
    expect(codeOf(await reset(link, 'daves-new-secret-9'))).toBe('INVALID_TOKEN');
  });

  it('fails after the password changed, over GraphQL or directly in the database', async () => {
    const link = await linkFor('erin');
    const erin = await loggedInClient(app.url, 'erin', 'erin-password-1');
    const link2 = await linkFor('erin'); // made after the login, so only the password change can void it
    const changed = await erin.graphql(
      'mutation { changePassword(oldPassword: "erin-password-1", newPassword: "erins-second-secret-2") }',
    );
    expect(changed.body.errors).toBeUndefined();
    expect(codeOf(await reset(link2, 'erins-third-secret-3'))).toBe('INVALID_TOKEN');
    expect(codeOf(await reset(link, 'erins-third-secret-3'))).toBe('INVALID_TOKEN');

    const frankLink = await linkFor('frank');
    await app.database.orm.em
      .fork()
      .nativeUpdate(User, { id: ids.frank ?? 0 }, { password: await auth.hashers.make('franks-new-secret-5') });
    expect(codeOf(await reset(frankLink, 'franks-third-secret-6'))).toBe('INVALID_TOKEN');
    expect(await canLogIn('frank', 'franks-new-secret-5')).toBe(true);
  });

  it('refuses a weak password with every failed rule, and the link still works afterwards', async () => {
    const link = await linkFor('grace');
    const weak = await reset(link, '1234');
    expect(codeOf(weak)).toBe('BAD_USER_INPUT');
    expect((weak.body.errors?.[0]?.extensions?.validationErrors as { code: string }[]).map(({ code }) => code)).toEqual(
      ['password_too_short', 'password_too_common', 'password_entirely_numeric'],
    );
    expect((await reset(link, 'graces-strong-secret-4')).body).toEqual({ data: { resetPassword: true } });
  });

  it('lets exactly one of two simultaneous resets with one link succeed', async () => {
    const link = await linkFor('alice');
    const answers = await Promise.all([
      reset(link, 'alices-first-choice-1'),
      reset(link, 'alices-second-choice-2'),
      reset(link, 'alices-third-choice-3'),
    ]);
    expect(answers.map((answer) => answer.body.data?.resetPassword ?? codeOf(answer)).sort()).toEqual([
      'INVALID_TOKEN',
      'INVALID_TOKEN',
      true,
    ]);
  });

  it.each([
    ['a uid that is not base64', '!!', undefined],
    ['a uid of no user', encodeUid(987_654), undefined],
    ['a uid too large for an id', encodeUid(99_999_999_999), undefined],
    ['a uid with padding', `${encodeUid(1)}==`, undefined],
    ['a token of another user', undefined, 'other-user'],
    ['a malformed token', undefined, 'not-a-token-at-all'],
    ['an empty token', undefined, ''],
    ['a huge token', undefined, `${'z'.repeat(20)}-${'a'.repeat(5000)}`],
  ])('answers INVALID_TOKEN for %s', async (_case, uid, token) => {
    const link = await linkFor('henry');
    const othersToken = token === 'other-user' ? (await linkFor('grace')).token : token;
    const response = await reset(
      { uid: uid ?? link.uid, token: othersToken ?? link.token },
      'a-perfectly-fine-secret-1',
    );
    expect(response.status).toBe(200);
    expect(codeOf(response)).toBe('INVALID_TOKEN');
    // Nothing changed: henry's own link still works (a login would void it, so it is not used to check).
    expect(
      await auth.passwords.checkPassword(app.database.orm.em.fork(), { id: ids.henry ?? 0 }, 'henry-password-1'),
    ).toBe(true);
  });
});

describe('who gets a reset e-mail', () => {
  let smtp: TestSmtpServer;
  let app: TestApp;

  beforeAll(async () => {
    smtp = await startSmtpServer();
    app = await createTestApp({ env: { ...CHEAP_HASHING, SMTP_URL: smtp.url } });
    const auth = createAuth(app.config);
    const em = app.database.orm.em.fork();
    await auth.users.createUser(em, { username: 'sam', email: 'shared@example.com', password: 'sam-password-1' });
    await auth.users.createUser(em, { username: 'samantha', email: 'Shared@example.com', password: 'x-password-1' });
    await auth.users.createUser(em, { username: 'idle', email: 'idle@example.com', password: 'x', isActive: false });
    await auth.users.createUser(em, { username: 'sso', email: 'sso@example.com', password: null });
    // Accounts without an e-mail (createsuperuser often leaves it blank).
    await auth.users.createUser(em, { username: 'blank1', password: 'x-password-1' });
    await auth.users.createUser(em, { username: 'blank2', password: 'x-password-1', isSuperuser: true });
  });
  afterAll(() => smtp.stop());

  it('every active account with a usable password at that address (any case), and nobody else', async () => {
    const answers = [];
    for (const email of [
      'SHARED@example.com',
      'idle@example.com',
      'sso@example.com',
      'nobody@example.com',
      '',
      '   ',
      'not-an-address',
      `${'a'.repeat(250)}@example.com`,
    ]) {
      answers.push(await new HttpClient(app.url).graphql(REQUEST, { email }));
    }
    // Stopping the server waits for queued e-mails: after it, everything that will ever be sent has been.
    await app.stop();
    expect(smtp.received.map((mail) => mail.to).sort()).toEqual([['Shared@example.com'], ['shared@example.com']]);
    expect(smtp.received.map((mail) => /forgotten: (\w+)/.exec(mail.text)?.[1]).sort()).toEqual(['sam', 'samantha']);

    // The same answer for an address with accounts, one with none, one whose account cannot reset, and input that
    // is no address at all: status, body and headers (but the date). No session is started for any of them.
    const shapes = answers.map(({ status, body, headers }) => ({
      status,
      body,
      // Only the date and the request id may differ (each answer has its own).
      headers: Object.fromEntries(
        [...headers.entries()].filter(([name]) => name !== 'date' && name !== 'x-request-id'),
      ),
    }));
    for (const shape of shapes) expect(shape).toEqual(shapes[0]);
    expect(shapes[0]?.headers['set-cookie']).toBeUndefined();
  });
});

/** A logger whose JSON lines the test reads. */
function capturingLogger() {
  const lines: string[] = [];
  const logger = createLogger(
    'info',
    new Writable({
      write(chunk: Buffer, _encoding, done) {
        lines.push(...chunk.toString('utf8').split('\n').filter(Boolean));
        done();
      },
    }),
  );
  return { logger, entries: () => lines.map((line) => JSON.parse(line) as Record<string, unknown>) };
}

describe('an SMTP server that refuses the message', () => {
  it('answers true all the same, and logs the failure without the link', async () => {
    const smtp = await startSmtpServer({ user: 'mailer', password: 'right' });
    const { logger, entries } = capturingLogger();
    const app = await createTestApp({
      logger,
      env: { ...CHEAP_HASHING, SMTP_URL: smtp.url.replace('right', 'wr0ng-pa55') },
    });
    let answer;
    try {
      await createAuth(app.config).users.createUser(app.database.orm.em.fork(), {
        username: 'alice',
        email: 'alice@example.com',
        password: 'alice-password-1',
      });
      answer = await new HttpClient(app.url).graphql(REQUEST, { email: 'alice@example.com' });
    } finally {
      await app.stop();
      await smtp.stop();
    }
    expect(answer.body).toEqual({ data: { requestPasswordReset: true } });
    expect(smtp.received).toEqual([]);
    const failure = entries().find((entry) => entry.msg === 'an e-mail could not be sent');
    expect(failure).toMatchObject({ level: 50, subject: 'Password reset on localhost:0', userId: expect.any(Number) });
    const log = JSON.stringify(entries());
    expect(log).not.toMatch(/token=/);
    // Nor the SMTP password, plain or as the AUTH PLAIN exchange carries it.
    expect(log).not.toContain('wr0ng-pa55');
    expect(log).not.toContain(Buffer.from('\0mailer\0wr0ng-pa55').toString('base64'));
  });
});

describe('the console mail backend', () => {
  it('writes the e-mail, link included, to the log', async () => {
    const { logger, entries } = capturingLogger();
    const app = await createTestApp({ logger, env: CHEAP_HASHING });
    try {
      const auth = createAuth(app.config);
      await auth.users.createUser(app.database.orm.em.fork(), {
        username: 'alice',
        email: 'alice@example.com',
        password: 'alice-password-1',
      });
      await new HttpClient(app.url).graphql(REQUEST, { email: 'alice@example.com' });
    } finally {
      await app.stop();
    }
    const mail = entries().find((entry) => entry.mail)?.mail as { to: string; from: string; text: string } | undefined;
    expect(mail).toMatchObject({ to: 'alice@example.com', from: 'webmaster@localhost' });
    expect(mail?.text).toMatch(/http:\/\/localhost:0\/reset-password\?uid=[\w-]+&token=[0-9a-z]+-[0-9a-f]{32}/);
  });
});
