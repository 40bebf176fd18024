/**
 * The founding incident, end to end: "the login works, then I am logged out". A real Chromium logs in through a
 * real nginx that terminates TLS (a certificate made by the test) in front of the real server; each test asserts
 * what the browser keeps (its cookie jar) and what the server logs. Issue 19: the main case (TRUST_PROXY), the proxy
 * that sends no X-Forwarded-Proto (8), a cookie domain that is not the browser's host (9), a page on localhost
 * calling 127.0.0.1 (10), and `check` on TRUST_PROXY without PUBLIC_URL (11).
 *
 * One browser for the file; each case gets its own server, nginx and browser context (a fresh cookie jar).
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import type { Browser, BrowserContext, Cookie, Page } from 'playwright-core';
import { createAuth } from '../../src/auth/index.js';
import { configChecks } from '../../src/checks/config.js';
import { loadConfig } from '../../src/config/index.js';
import { createLogger } from '../../src/logger.js';
import { createTestApp, type TestApp } from '../support/app.js';
import { browserUnavailable, launchBrowser } from '../support/browser.js';
import { nginxUnavailable, startNginx, type Nginx, type NginxOptions } from '../support/nginx.js';

const LOGIN = 'mutation { login(username: "alice", password: "wonderland-42") { username } }';
const ME = '{ me { username } }';
const PRODUCTION = { NODE_ENV: 'production', SESSION_SECRET: 'p'.repeat(48) };
/** Cheap hashing: the tests measure cookies, not argon2. */
const CHEAP = { ARGON2_MEMORY_KIB: '1024', ARGON2_TIME_COST: '1' };
/** The nginx line every TLS-terminating proxy needs, which the warning must show. */
const NGINX_PROTO_LINE = 'proxy_set_header X-Forwarded-Proto $scheme;';

interface LogLine {
  level: number;
  msg: string;
  [key: string]: unknown;
}

/** Why these tests cannot run here (printed once), or undefined. */
const unavailable = browserUnavailable() ?? nginxUnavailable();
if (unavailable !== undefined) console.warn(`end-to-end tests skipped: ${unavailable}`);
const e2e = unavailable === undefined ? it : it.skip;
const browserOnly = browserUnavailable() === undefined ? it : it.skip;

let browser: Browser | undefined;
beforeAll(async () => {
  if (browserUnavailable() !== undefined) return;
  // The test's host names (and production's api.example.com) all lead to nginx on this machine.
  browser = await launchBrowser({ hostResolverRules: 'MAP *.example.test 127.0.0.1, MAP api.example.com 127.0.0.1' });
});
afterAll(() => browser?.close());

/** What the current test started, stopped after it (last started, first stopped). */
const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

interface Deployment {
  app: TestApp;
  lines: LogLine[];
}

/** The server with `env`, logging (warn and worse) into `lines`, with the user alice. */
async function startServer(env: Record<string, string>): Promise<Deployment> {
  const lines: LogLine[] = [];
  const logger = createLogger('warn', { write: (line: string) => lines.push(JSON.parse(line) as LogLine) });
  const app = await createTestApp({ env: { ...CHEAP, ...env }, logger });
  cleanups.push(() => app.stop());
  await createAuth(app.config).users.createUser(app.database.orm.em.fork(), {
    username: 'alice',
    password: 'wonderland-42',
  });
  return { app, lines };
}

/** The server with `env` behind nginx (TLS) for the given host names. */
async function deployBehindNginx(
  env: Record<string, string>,
  hostNames: string[],
  nginxOptions: Partial<NginxOptions> = {},
): Promise<Deployment & { nginx: Nginx }> {
  const deployment = await startServer(env);
  const nginx = await startNginx({ upstream: deployment.app.url, hostNames, ...nginxOptions });
  cleanups.push(() => nginx.stop());
  return { ...deployment, nginx };
}

/** A fresh browser context (its own cookie jar) on `url`'s page. */
async function openPage(url: string): Promise<{ context: BrowserContext; page: Page }> {
  if (!browser) throw new Error('no browser');
  // The test's certificate is self-signed.
  const context = await browser.newContext({ ignoreHTTPSErrors: true });
  cleanups.push(() => context.close());
  const page = await context.newPage();
  const response = await page.goto(url);
  expect(response?.status()).toBe(200);
  return { context, page };
}

/** A GraphQL request from the page's script, as a front-end sends it (cookies as the browser decides). */
function graphql(page: Page, query: string, endpoint = '/graphql'): Promise<unknown> {
  return page.evaluate(
    async ({ body, endpoint }) => {
      const response = await fetch(endpoint, {
        method: 'POST',
        credentials: 'include',
        headers: { 'content-type': 'application/json' },
        body,
      });
      return await response.json();
    },
    { body: JSON.stringify({ query }), endpoint },
  );
}

/** Logs in from the page (the answer is a success, whatever the browser then keeps) and asks `me` after. */
async function loginAndAskMe(page: Page, endpoint?: string): Promise<unknown> {
  expect(await graphql(page, LOGIN, endpoint)).toEqual({ data: { login: { username: 'alice' } } });
  return ((await graphql(page, ME, endpoint)) as { data?: { me: unknown } }).data?.me;
}

/** The session cookie the browser kept, with the attributes that decide whether it comes back. */
async function sessionCookie(context: BrowserContext): Promise<Partial<Cookie> | undefined> {
  const cookie = (await context.cookies()).find((candidate) => candidate.name === 'sessionid');
  if (!cookie) return undefined;
  const { name, domain, secure, httpOnly, sameSite } = cookie;
  return { name, domain, secure, httpOnly, sameSite };
}

const warnings = (lines: LogLine[]) => lines.filter((line) => line.level >= 40).map((line) => line.msg);

describe('behind nginx terminating TLS', () => {
  e2e(
    'main case, without TRUST_PROXY: the browser keeps no session cookie, and the warning names TRUST_PROXY',
    async () => {
      const { nginx, lines } = await deployBehindNginx(PRODUCTION, ['api.example.test']);
      const { context, page } = await openPage(nginx.urlFor('api.example.test'));
      expect(await loginAndAskMe(page)).toBeNull();
      expect(await sessionCookie(context)).toBeUndefined();
      expect(warnings(lines)).toEqual([expect.stringContaining('set TRUST_PROXY (e.g. TRUST_PROXY=1)')]);
      expect(lines[0]).toMatchObject({ xForwardedProto: 'https', protocol: 'http' });
    },
  );

  e2e(
    'main case, with TRUST_PROXY: the browser keeps a Secure, HttpOnly, SameSite=Lax cookie; nothing is logged',
    async () => {
      const { nginx, lines } = await deployBehindNginx({ ...PRODUCTION, TRUST_PROXY: '1' }, ['api.example.test']);
      const { context, page } = await openPage(nginx.urlFor('api.example.test'));
      expect(await loginAndAskMe(page)).toEqual({ username: 'alice' });
      expect(await sessionCookie(context)).toEqual({
        name: 'sessionid',
        domain: 'api.example.test',
        secure: true,
        httpOnly: true,
        sameSite: 'Lax',
      });
      expect(warnings(lines)).toEqual([]);
    },
  );

  e2e(
    '8: TRUST_PROXY set but nginx sends no X-Forwarded-Proto: the warning says the proxy must, with the nginx line',
    async () => {
      const { nginx, lines } = await deployBehindNginx({ ...PRODUCTION, TRUST_PROXY: '1' }, ['api.example.test'], {
        forwardProto: false,
      });
      const { context, page } = await openPage(nginx.urlFor('api.example.test'));
      expect(await loginAndAskMe(page)).toBeNull();
      expect(await sessionCookie(context)).toBeUndefined();
      const [warning, ...others] = warnings(lines);
      expect(others).toEqual([]);
      expect(warning).toContain('the proxy sent no X-Forwarded-Proto');
      expect(warning).toContain(NGINX_PROTO_LINE);
      // TRUST_PROXY is set already: telling the user to set it is what sent them in circles.
      expect(warning).not.toContain('set TRUST_PROXY');
      expect(lines[0]).toMatchObject({ xForwardedProto: null, protocol: 'http', trustProxy: 1 });
    },
  );

  e2e(
    '9: a cookie domain that is not the host the browser used: `check` passes, and the login warns naming both',
    async () => {
      // Staging run with production's settings: PUBLIC_URL agrees with the cookie domain, so `check` sees nothing.
      const env = {
        ...PRODUCTION,
        TRUST_PROXY: '1',
        PUBLIC_URL: 'https://api.example.com',
        SESSION_COOKIE_DOMAIN: 'example.com',
      };
      expect(configChecks(loadConfig(env), env, { deploy: false })).toEqual([]);
      const { nginx, lines } = await deployBehindNginx(env, ['api.staging.example.test', 'api.example.com']);

      const staging = await openPage(nginx.urlFor('api.staging.example.test'));
      expect(await loginAndAskMe(staging.page)).toBeNull();
      expect(await sessionCookie(staging.context)).toBeUndefined();
      const [warning, ...others] = warnings(lines);
      expect(others).toEqual([]);
      expect(warning).toContain('SESSION_COOKIE_DOMAIN=example.com');
      expect(warning).toContain('api.staging.example.test');
      expect(lines[0]).toMatchObject({ cookieDomain: 'example.com', host: 'api.staging.example.test' });

      // The same server on the host its settings name: the cookie is kept for the whole domain, and nothing is logged.
      lines.length = 0;
      const production = await openPage(nginx.urlFor('api.example.com'));
      expect(await loginAndAskMe(production.page)).toEqual({ username: 'alice' });
      expect(await sessionCookie(production.context)).toMatchObject({ domain: '.example.com', secure: true });
      expect(warnings(lines)).toEqual([]);
    },
  );

  e2e('11: TRUST_PROXY=1 without PUBLIC_URL: logins work, and `check` reports no error', async () => {
    const env = { ...PRODUCTION, TRUST_PROXY: '1' };
    const { nginx, lines } = await deployBehindNginx(env, ['api.example.test']);
    const { context, page } = await openPage(nginx.urlFor('api.example.test'));
    expect(await loginAndAskMe(page)).toEqual({ username: 'alice' });
    expect(await sessionCookie(context)).toMatchObject({ secure: true, httpOnly: true });
    expect(warnings(lines)).toEqual([]);
    // Before: security.E009 ("logins do not stick"), and `check` exited 1.
    expect(configChecks(loadConfig(env), env, { deploy: false })).toEqual([]);
  });
});

describe('in development, a page on one loopback name calling the server on the other', () => {
  /** A front-end's development server: the same page under whatever host name the browser used. */
  async function startPageServer(): Promise<number> {
    const server = http.createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/html' }).end('<!doctype html><title>front-end</title>');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    cleanups.push(() => new Promise((resolve) => server.close(resolve)));
    return (server.address() as AddressInfo).port;
  }

  browserOnly('10: the cookie is blocked as cross-site, and the log names both hosts', async () => {
    const pagePort = await startPageServer();
    const { app, lines } = await startServer({
      NODE_ENV: 'development',
      CORS_ORIGINS: `http://localhost:${pagePort},http://127.0.0.1:${pagePort}`,
    });
    // The address the start line prints.
    expect(app.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const endpoint = `${app.url}/graphql`;

    const onLocalhost = await openPage(`http://localhost:${pagePort}/`);
    expect(await loginAndAskMe(onLocalhost.page, endpoint)).toBeNull();
    expect(await sessionCookie(onLocalhost.context)).toBeUndefined();
    const [hint, ...others] = warnings(lines);
    expect(others).toEqual([]);
    expect(hint).toContain(`http://localhost:${pagePort}`);
    expect(hint).toContain('127.0.0.1');
    expect(lines[0]).toMatchObject({ pageOrigin: `http://localhost:${pagePort}`, host: '127.0.0.1' });

    // The page on the server's own host name: same site, the cookie is kept, no hint.
    lines.length = 0;
    const onSameHost = await openPage(`http://127.0.0.1:${pagePort}/`);
    expect(await loginAndAskMe(onSameHost.page, endpoint)).toEqual({ username: 'alice' });
    expect(await sessionCookie(onSameHost.context)).toEqual({
      name: 'sessionid',
      domain: '127.0.0.1',
      secure: false,
      httpOnly: true,
      sameSite: 'Lax',
    });
    expect(warnings(lines)).toEqual([]);
  });
});
