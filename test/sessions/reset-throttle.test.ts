/**
 * Password reset e-mails are throttled, silently: at most PASSWORD_RESET_EMAIL_LIMIT (3) per account and
 * PASSWORD_RESET_ADDRESS_LIMIT (10) requests per client address per PASSWORD_RESET_WINDOW, while every request
 * still gets the same answer, byte for byte.
 */
import { afterAll, beforeAll, expect, it } from '@jest/globals';
import { createAuth } from '../../src/auth/index.js';
import { createTestApp, type TestApp } from '../support/app.js';
import { CHEAP_HASHING } from '../support/auth.js';
import { HttpClient } from '../support/http-client.js';
import { describeEachStore } from '../support/session-stores.js';
import { startSmtpServer, type TestSmtpServer } from '../support/smtp.js';

const REQUEST = 'mutation ($email: String!) { requestPasswordReset(email: $email) }';

describeEachStore('password reset e-mails, throttled', (sessionStore) => {
  let smtp: TestSmtpServer;
  let app: TestApp;
  beforeAll(async () => {
    smtp = await startSmtpServer();
    app = await createTestApp({
      sessionStore,
      env: {
        ...CHEAP_HASHING,
        SMTP_URL: smtp.url,
        TRUST_PROXY: 'loopback',
        // At their defaults, set here only because the test app turns the per-address ones off.
        PASSWORD_RESET_ADDRESS_LIMIT: '10',
        PASSWORD_RESET_EMAIL_LIMIT: '3',
      },
    });
    const auth = createAuth(app.config);
    for (let n = 0; n < 13; n += 1)
      await auth.users.createUser(app.database.orm.em.fork(), {
        username: `user${n}`,
        email: `user${n}@example.com`,
        password: `user${n}-password-1`,
      });
  });
  afterAll(async () => {
    await app.stop();
    await smtp.stop();
  });

  /** The answer's status and bytes. */
  const request = async (email: string, address: string) => {
    const response = await new HttpClient(app.url).fetch('/graphql', {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-forwarded-for': address },
      body: JSON.stringify({ query: REQUEST, variables: { email } }),
    });
    return `${response.status} ${await response.text()}`;
  };
  /** The e-mails received once the server has sent what it was going to. */
  const mailsTo = async (count: number) => {
    const received: string[] = [];
    for (let n = 0; n < count; n += 1) received.push(...(await smtp.next()).to);
    return received;
  };

  it('sends one account at most 3 e-mails, whoever asks, answering every request the same', async () => {
    const answers: string[] = [];
    for (let n = 0; n < 6; n += 1) answers.push(await request('user0@example.com', `198.51.100.${n + 1}`));
    expect(new Set(answers)).toEqual(new Set(['200 {"data":{"requestPasswordReset":true}}\n']));
    expect(await mailsTo(3)).toEqual(Array<string>(3).fill('user0@example.com'));
    // A marker for another account: had a fourth e-mail to user0 been sent, it would arrive first.
    await request('user11@example.com', '198.51.100.99');
    expect(await mailsTo(1)).toEqual(['user11@example.com']);
  });

  it('lets one address ask 10 times, for any accounts, answering every request the same', async () => {
    const answers: string[] = [];
    for (let n = 1; n <= 11; n += 1) answers.push(await request(`user${n}@example.com`, '203.0.113.50'));
    expect(new Set(answers).size).toBe(1);
    // Sent together at the mailer's next tick: which 10 of the 11 is the counters' race, not the order asked in.
    const sent = await mailsTo(10);
    expect(new Set(sent).size).toBe(10);
    const asked = new Set(Array.from({ length: 11 }, (_, n) => `user${n + 1}@example.com`));
    expect(sent.filter((to) => !asked.has(to))).toEqual([]);
    // No eleventh: a request from elsewhere, at a later tick, is the next e-mail.
    await request('user12@example.com', '203.0.113.51');
    expect(await mailsTo(1)).toEqual(['user12@example.com']);
  });
});
