/**
 * The test suite's HTTP client keeps cookies as a browser does, so that session tests mean what they say:
 * it sends back what the server set, honours Path and expiry, and handles Secure cookies on loopback as browsers
 * do (accepted, since browsers count localhost as secure), or as a remote plain-HTTP origin when asked.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { HttpClient } from './support/http-client.js';

describe('HttpClient', () => {
  let server: http.Server;
  let url: string;
  beforeAll(async () => {
    server = http.createServer((req, res) => {
      if (req.url === '/set') {
        res.setHeader('set-cookie', [
          'session=abc; Path=/; HttpOnly; SameSite=Lax',
          'scoped=1; Path=/admin',
          'secure=1; Path=/; Secure',
          'gone=1; Path=/; Max-Age=0',
        ]);
      }
      if (req.url === '/clear') res.setHeader('set-cookie', 'session=; Path=/; Expires=Thu, 01 Jan 1970 00:00:00 GMT');
      res.end(req.headers.cookie ?? '');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(
    () =>
      new Promise<void>((resolve) =>
        server.close(() => {
          resolve();
        }),
      ),
  );

  it('sends back the cookies a response set, by path; Secure ones too, on loopback, as browsers do', async () => {
    const client = new HttpClient(url);
    await client.fetch('/set');
    expect(await (await client.fetch('/')).text()).toBe('session=abc; secure=1');
    expect(await (await client.fetch('/admin/users')).text()).toBe('scoped=1; session=abc; secure=1');
  });

  it('drops Secure cookies when loopback is to count as a remote plain-HTTP origin', async () => {
    const client = new HttpClient(url, { loopbackIsSecure: false });
    await client.fetch('/set');
    expect(await (await client.fetch('/')).text()).toBe('session=abc');
  });

  it("forgets a cookie the server expires, and keeps each client's cookies to itself", async () => {
    const client = new HttpClient(url);
    await client.fetch('/set');
    await client.fetch('/clear');
    expect(await (await client.fetch('/')).text()).toBe('secure=1');
    expect(await (await new HttpClient(url).fetch('/')).text()).toBe('');
  });
});
