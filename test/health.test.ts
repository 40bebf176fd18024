/**
 * Liveness and readiness, including a real database outage: the app's connections run through a TCP proxy
 * that the test cuts and restores.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { loadConfig } from '../src/config/index.js';
import { openDatabase, type Database } from '../src/db/database.js';
import { startEmbeddedPostgres, type EmbeddedPostgres } from '../src/db/embedded.js';
import { startServer, type RunningServer } from '../src/server.js';
import { createTestApp, type TestApp } from './support/app.js';
import { createTestDatabase, type TestDatabase } from './support/database.js';
import { testLogger } from './support/env.js';
import { HttpClient } from './support/http-client.js';
import { startTcpProxy, type TcpProxy } from './support/tcp-proxy.js';
import { serverUrl } from './support/env.js';

describe('health probes', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await createTestApp();
  });
  afterAll(() => app.stop());

  it('GET /healthz answers 200 while the process lives', async () => {
    const response = await app.client.fetch('/healthz');
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ status: 'ok' });
  });

  it('GET /readyz answers 200 while the database answers', async () => {
    const response = await app.client.fetch('/readyz');
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ status: 'ready' });
  });
});

describe('readiness of a database missing part of the project', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await createTestApp();
  });
  afterAll(() => app.stop());

  const readiness = async () => {
    const response = await app.client.fetch('/readyz');
    return { status: response.status, body: await response.text() };
  };
  const execute = (sql: string) => app.database.orm.em.getConnection().execute(sql);

  it('answers 503 while a project table is missing, naming no table, and 200 once it is back', async () => {
    expect((await readiness()).status).toBe(200);
    // What a migration written by `migration:create` did before it left the project's tables alone.
    await execute('ALTER TABLE gqlauth_session RENAME TO gqlauth_session_aside');
    expect(await readiness()).toEqual({ status: 503, body: JSON.stringify({ status: 'database schema incomplete' }) });
    await execute('ALTER TABLE gqlauth_session_aside RENAME TO gqlauth_session');
    expect((await readiness()).status).toBe(200);
  });

  it('answers 503 while an authorization-version trigger is disabled', async () => {
    await execute('ALTER TABLE auth_user_groups DISABLE TRIGGER gqlauth_authz_version');
    expect((await readiness()).status).toBe(503);
    await execute('ALTER TABLE auth_user_groups ENABLE TRIGGER gqlauth_authz_version');
    expect((await readiness()).status).toBe(200);
  });
});

describe('readiness during a database outage', () => {
  let embedded: EmbeddedPostgres | undefined;
  let testDatabase: TestDatabase | undefined;
  let proxy: TcpProxy;
  let database: Database;
  let server: RunningServer | undefined;
  let client: HttpClient;

  beforeAll(async () => {
    // A database of the real server when the suite runs on one, else an embedded one: either way behind the proxy.
    let target: string;
    if (serverUrl()) {
      testDatabase = await createTestDatabase();
      target = testDatabase.config.kind === 'server' ? testDatabase.config.url : '';
    } else {
      embedded = await startEmbeddedPostgres();
      target = embedded.url;
    }
    const url = new URL(target);
    proxy = await startTcpProxy(url.hostname, Number(url.port || 5432));
    url.host = `127.0.0.1:${proxy.port}`;
    const config = loadConfig({
      NODE_ENV: 'test',
      PORT: '0',
      DATABASE_URL: url.toString(),
      DATABASE_POOL_SIZE: '2',
      DATABASE_CONNECT_TIMEOUT_MS: '1000',
      // The server refuses to start on a database without its tables (the directives' permissions are checked).
      MIGRATE_ON_START: 'true',
    });
    database = await openDatabase(config.database, testLogger);
    server = await startServer(config, testLogger, database);
    client = new HttpClient(server.url);
  });
  afterAll(async () => {
    await server?.stop();
    await proxy.close();
    await embedded?.stop();
    await testDatabase?.drop();
  });

  it('turns 503 while the database is unreachable and 200 again when it returns, without a restart', async () => {
    expect((await client.fetch('/readyz')).status).toBe(200);

    proxy.cut();
    const down = await client.fetch('/readyz');
    expect(down.status).toBe(503);
    expect(await down.json()).toEqual({ status: 'database unavailable' });
    expect((await client.fetch('/healthz')).status).toBe(200);

    await proxy.restore();
    expect((await client.fetch('/readyz')).status).toBe(200);
  });
});
