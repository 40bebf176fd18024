/**
 * `requestPasswordReset` must not tell by its answer time whether an address has an account: 1,000 requests for
 * existing addresses and 1,000 for unknown ones, interleaved, over real HTTP with a real SMTP server receiving the
 * e-mails. Compared with the Mann-Whitney U test, which sees a shift of the whole distribution that medians hide.
 *
 * The test fails below p = 1e-4 (a false alarm once in 10,000 runs); the goal, p > 0.01, is what the bench judges.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import http from 'node:http';
import { createAuth } from '../../src/auth/index.js';
import { createTestApp, type TestApp } from '../support/app.js';
import { CHEAP_HASHING } from '../support/auth.js';
import { startSmtpServer, type TestSmtpServer } from '../support/smtp.js';
import { mannWhitneyP } from '../support/stats.js';

const REQUEST = 'mutation ($email: String!) { requestPasswordReset(email: $email) }';
const SAMPLES = 1000;
const ACCOUNTS = 20;

/** A seeded PRNG (mulberry32): the order of the samples is random, and the same on every run. */
function seeded(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state + 0x6d2b79f5) | 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

describe('the answer time of requestPasswordReset', () => {
  let smtp: TestSmtpServer;
  let app: TestApp;
  beforeAll(async () => {
    smtp = await startSmtpServer();
    // Every request for an existing address sends an e-mail: the throttle would otherwise make most of them cheap.
    app = await createTestApp({ env: { ...CHEAP_HASHING, SMTP_URL: smtp.url, PASSWORD_RESET_EMAIL_LIMIT: '0' } });
    const auth = createAuth(app.config);
    for (let n = 0; n < ACCOUNTS; n += 1)
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

  // Alternating: what one request leaves behind falls on the next, which is always of the other kind.
  it.each(['alternating', 'shuffled'])(
    'is the same for existing and unknown addresses (Mann-Whitney over 1,000 samples each, %s)',
    async (order) => {
      const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
      const time = (email: string) =>
        new Promise<number>((resolve, reject) => {
          const body = JSON.stringify({ query: REQUEST, variables: { email } });
          const started = performance.now();
          const request = http.request(
            `${app.url}/graphql`,
            { method: 'POST', agent, headers: { 'content-type': 'application/json' } },
            (response) => {
              response.resume();
              response.on('end', () => {
                resolve(performance.now() - started);
              });
            },
          );
          request.on('error', reject);
          request.end(body);
        });
      const seed = 20261205;
      const random = seeded(seed);
      const kinds = [...Array<boolean>(SAMPLES).fill(true), ...Array<boolean>(SAMPLES).fill(false)];
      for (let index = kinds.length - 1; index > 0; index -= 1) {
        const other = Math.floor(random() * (index + 1));
        [kinds[index], kinds[other]] = [kinds[other] ?? false, kinds[index] ?? false];
      }
      // A warm-up of both kinds, not measured.
      for (let n = 0; n < 100; n += 1) await time(n % 2 ? 'user0@example.com' : `nobody${n}@example.com`);
      const existing: number[] = [];
      const unknown: number[] = [];
      if (order === 'alternating') kinds.forEach((_, index) => (kinds[index] = index % 2 === 0));
      for (const [index, exists] of kinds.entries()) {
        if (exists) existing.push(await time(`user${index % ACCOUNTS}@example.com`));
        else unknown.push(await time(`nobody${index}@example.com`));
      }
      agent.destroy();
      const p = mannWhitneyP(existing, unknown);
      const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? 0;
      process.stderr.write(
        `requestPasswordReset timing (${order}, seed ${seed}): median existing ${median(existing).toFixed(3)} ms, unknown ` +
          `${median(unknown).toFixed(3)} ms, Mann-Whitney p = ${p.toExponential(2)}\n`,
      );
      expect(p).toBeGreaterThan(1e-4);
    },
    120_000,
  );
});
