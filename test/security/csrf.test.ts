/**
 * Cross-site request forgery, with the victim's session cookie sent along (as a browser with SameSite=None, or a
 * same-site attacker, would): a GET query, a GET mutation, text/plain, form and multipart POSTs, and a preflight
 * from a foreign origin. Apollo's CSRF prevention and the CORS allow-list refuse each; none logs the victim out.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createAuth } from '../../src/auth/index.js';
import { CHEAP_HASHING } from '../support/auth.js';
import { createTestApp, type TestApp } from '../support/app.js';
import type { HttpClient } from '../support/http-client.js';
import { loggedInClient, whoAmI } from '../support/sessions.js';

const EVIL = 'https://evil.example';

describe('CSRF from a foreign origin, with the session cookie', () => {
  let app: TestApp;
  let victim: HttpClient;
  beforeAll(async () => {
    app = await createTestApp({ env: { ...CHEAP_HASHING, CORS_ORIGINS: 'https://app.example.com' } });
    await createAuth(app.config).users.createUser(app.database.orm.em.fork(), {
      username: 'alice',
      password: 'alice-pass-1',
    });
    victim = await loggedInClient(app.url, 'alice', 'alice-pass-1');
  });
  afterAll(() => app.stop());

  const logout = 'mutation { logout }';
  const multipart = () => {
    const form = new FormData();
    form.append('operations', JSON.stringify({ query: logout }));
    form.append('map', '{}');
    return form;
  };

  it.each<[string, () => Promise<Response>, number]>([
    [
      'a GET query',
      () => victim.fetch(`/graphql?query=${encodeURIComponent('{ me { username } }')}`, { headers: { origin: EVIL } }),
      400,
    ],
    [
      'a GET mutation',
      () => victim.fetch(`/graphql?query=${encodeURIComponent(logout)}`, { headers: { origin: EVIL } }),
      400,
    ],
    [
      'a text/plain POST',
      () =>
        victim.fetch('/graphql', {
          method: 'POST',
          headers: { origin: EVIL, 'content-type': 'text/plain' },
          body: JSON.stringify({ query: logout }),
        }),
      400,
    ],
    [
      'a form POST',
      () =>
        victim.fetch('/graphql', {
          method: 'POST',
          headers: { origin: EVIL, 'content-type': 'application/x-www-form-urlencoded' },
          body: new URLSearchParams({ query: logout }).toString(),
        }),
      400,
    ],
    [
      'a multipart POST',
      () => victim.fetch('/graphql', { method: 'POST', headers: { origin: EVIL }, body: multipart() }),
      400,
    ],
  ])('refuses %s, and the victim stays logged in', async (_, send, status) => {
    const response = await send();
    expect(response.status).toBe(status);
    expect(response.headers.get('access-control-allow-origin')).toBeNull();
    expect(await whoAmI(victim)).toBe('alice');
  });

  it('answers a foreign preflight with no permission, so a browser sends nothing after it', async () => {
    const response = await victim.fetch('/graphql', {
      method: 'OPTIONS',
      headers: {
        origin: EVIL,
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'content-type',
      },
    });
    // Without Access-Control-Allow-Origin naming it, the browser refuses (whatever else the answer says).
    expect(response.headers.get('access-control-allow-origin')).toBeNull();
    expect(await whoAmI(victim)).toBe('alice');
  });
});
