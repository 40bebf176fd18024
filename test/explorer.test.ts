/**
 * The explorer a developer opens at /graphql. In a real headless Chromium: GraphiQL served by the server itself
 * (no request to any other host, so it works offline), whose login mutation sets the session cookie in the
 * browser, after which `me` answers the user; driven through GraphiQL's own UI (the query comes in its URL's
 * `?query=`, as a shared GraphiQL link does, and runs with its Run button). Over HTTP: the page's
 * Content-Security-Policy, its cacheable files, Apollo Sandbox by GRAPHQL_EXPLORER=sandbox, and nothing when off.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { Browser, Page } from 'playwright-core';
import { createAuth } from '../src/auth/index.js';
import { createTestApp, type TestApp } from './support/app.js';
import { itWithBrowser, launchBrowser } from './support/browser.js';
import { HttpClient } from './support/http-client.js';

const LOGIN = 'mutation Login { login(username: "alice", password: "wonderland-42") { username } }';
const ME = 'query Me { me { username } }';

/** Opens GraphiQL with `query` in its editor, runs it with the Run button, and gives the response pane's text. */
async function runInGraphiQL(page: Page, baseUrl: string, query: string): Promise<unknown> {
  await page.goto(`${baseUrl}/graphql?query=${encodeURIComponent(query)}`);
  const run = page.locator('.graphiql-execute-button');
  await run.waitFor({ timeout: 30_000 });
  // The editor holds the query from the URL before it is run.
  await page.locator('.graphiql-query-editor').getByText('username').first().waitFor({ timeout: 30_000 });
  await run.click();
  const response = page.locator('.graphiql-response .view-lines');
  await response.getByText('"data"').waitFor({ timeout: 30_000 });
  // Monaco draws spaces as no-break spaces.
  return JSON.parse((await response.innerText()).replace(/\u00a0/g, ' '));
}

describe('the explorer in a browser (development)', () => {
  let app: TestApp;
  let browser: Browser | undefined;
  beforeAll(async () => {
    app = await createTestApp({
      env: { NODE_ENV: 'development', ARGON2_MEMORY_KIB: '1024', ARGON2_TIME_COST: '1' },
    });
    await createAuth(app.config).users.createUser(app.database.orm.em.fork(), {
      username: 'alice',
      password: 'wonderland-42',
    });
  });
  afterAll(async () => {
    await browser?.close();
    await app.stop();
  });

  itWithBrowser(it)(
    'serves GraphiQL from this server alone; a login run in it sets the cookie, and `me` then answers the user',
    async () => {
      browser = await launchBrowser();
      const context = await browser.newContext();
      const page = await context.newPage();
      const origin = new URL(app.url).origin;
      const requests: string[] = [];
      page.on('request', (request) => requests.push(request.url()));
      const violations: string[] = [];
      page.on('console', (message) => {
        if (message.type() === 'error') violations.push(message.text());
      });

      const elsewhere = () =>
        requests.filter(
          (url) => !url.startsWith('data:') && !url.startsWith('blob:') && new URL(url).origin !== origin,
        );

      // A first visit, as a developer's: the page, its files and workers, and the schema, all from the server.
      // Until the page is usable, not until the network is idle: on a loaded machine the editor's workers can keep it
      // busy past any timeout. Every request made by then is checked.
      await page.goto(`${app.url}/graphql`, { waitUntil: 'load' });
      await page.locator('.graphiql-execute-button').waitFor({ timeout: 30_000 });
      expect(elsewhere()).toEqual([]);

      expect(await runInGraphiQL(page, app.url, LOGIN)).toEqual({ data: { login: { username: 'alice' } } });
      const cookies = await context.cookies(app.url);
      expect(cookies.find((cookie) => cookie.name === 'sessionid')).toMatchObject({ httpOnly: true });
      expect(await runInGraphiQL(page, app.url, ME)).toEqual({ data: { me: { username: 'alice' } } });

      // Every file, worker, schema fetch and operation came from the server (data: URLs are no request).
      expect(requests.length).toBeGreaterThan(20);
      expect(elsewhere()).toEqual([]);
      // Nothing the page needed was refused by its Content-Security-Policy (or failed otherwise).
      expect(violations).toEqual([]);
    },
    120_000,
  );
});

describe('the explorer over HTTP', () => {
  const apps: TestApp[] = [];
  afterAll(() => Promise.all(apps.map((app) => app.stop())));
  async function start(env: Record<string, string>): Promise<HttpClient> {
    const app = await createTestApp({ env });
    apps.push(app);
    return new HttpClient(app.url);
  }
  const asBrowser = { accept: 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8' };

  it('serves GraphiQL by default in development: a small page, its files cacheable, a CSP naming no other host', async () => {
    const client = await start({ NODE_ENV: 'development' });
    const response = await client.fetch('/graphql', { headers: asBrowser });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/html/);
    const csp = response.headers.get('content-security-policy') ?? '';
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("connect-src 'self'");
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).not.toMatch(/https?:|\*/);
    const html = await response.text();
    expect(html.length).toBeLessThan(4000);
    expect(html).not.toMatch(/https?:\/\//);
    expect(html).toContain('"credentials":"same-origin"');
    expect(html).toContain('"apollo-require-preflight":"true"');
    const files = [...html.matchAll(/(?:src|href)="(\/explorer\/[^"]+)"/g)].map((match) => match[1] ?? '');
    expect(files).toHaveLength(4);
    for (const file of files) {
      const asset = await client.fetch(file);
      expect(asset.status).toBe(200);
      expect(asset.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
      await asset.arrayBuffer();
    }
    expect((await client.fetch('/explorer/start.0123456789abcdef.js')).status).toBe(404);
    // A client that is not a browser still gets GraphQL's answer (here: a GET without a preflight header is refused).
    const curl = await client.fetch('/graphql?query=%7B__typename%7D', { headers: { accept: '*/*' } });
    expect(await curl.text()).toContain('CSRF');
  });

  it('serves Apollo Sandbox, with cookies included, by GRAPHQL_EXPLORER=sandbox', async () => {
    const client = await start({ NODE_ENV: 'development', GRAPHQL_EXPLORER: 'sandbox' });
    const response = await client.fetch('/graphql', { headers: asBrowser });
    expect(response.status).toBe(200);
    const html = await response.text();
    expect(html).toContain('EmbeddedSandbox');
    expect(html).toMatch(/"includeCookies":\s*true/);
    expect((await client.fetch('/explorer/start.0123456789abcdef.js')).status).toBe(404);
  });

  it('serves no explorer with GRAPHQL_EXPLORER=off, nor with the older GRAPHQL_LANDING_PAGE=false', async () => {
    const settings: Record<string, string>[] = [{ GRAPHQL_EXPLORER: 'off' }, { GRAPHQL_LANDING_PAGE: 'false' }];
    for (const env of settings) {
      const client = await start({ NODE_ENV: 'development', ...env });
      const response = await client.fetch('/graphql', { headers: asBrowser });
      expect(response.status).toBe(400);
      const text = await response.text();
      expect(text).not.toContain('GraphiQL');
      expect(text).not.toContain('Sandbox');
    }
  });
});
