/**
 * At shutdown, the audit events of the last requests are written before the database closes: the server's stop waits
 * for its writer (here held back by a lock on the table, from another connection: a server database only).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import pg from 'pg';
import { createAuth } from '../../src/auth/index.js';
import { loadConfig, type Config } from '../../src/config/index.js';
import { openDatabase } from '../../src/db/database.js';
import { selectAll } from '../../src/db/sql.js';
import { startServer } from '../../src/server.js';
import { CHEAP_HASHING } from '../support/auth.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { serverUrl, testLogger } from '../support/env.js';
import { HttpClient } from '../support/http-client.js';

// Skipped on the embedded database (one backend for every connection: a lock held by another connection there holds
// the test's own statements too); CI's second run, on the PostgreSQL server, always runs it.
(serverUrl() ? describe : describe.skip)('the audit log at shutdown', () => {
  let testDatabase: TestDatabase;
  let config: Config;
  beforeAll(async () => {
    testDatabase = await createTestDatabase();
    config = {
      ...loadConfig({ NODE_ENV: 'test', HOST: '127.0.0.1', PORT: '0', INSTALLED_APPS: '', ...CHEAP_HASHING }),
      database: testDatabase.config,
    };
  });
  afterAll(() => testDatabase.drop());

  it('writes the last events before the database closes', async () => {
    if (testDatabase.config.kind !== 'server') throw new Error('a database server is needed');
    const database = await openDatabase(config.database, testLogger);
    await createAuth(config).users.createUser(database.orm.em.fork(), { username: 'alice', password: 'alice-pass-1' });
    const server = await startServer(config, testLogger, database);
    const locker = new pg.Client({ connectionString: testDatabase.config.url });
    await locker.connect();
    try {
      await locker.query('BEGIN');
      await locker.query('LOCK TABLE gqlauth_audit_event IN EXCLUSIVE MODE');
      const client = new HttpClient(server.url);
      const login = await client.graphql('mutation { login(username: "alice", password: "alice-pass-1") { id } }');
      expect(login.body.errors).toBeUndefined();
      // Its event is being written (waiting for the lock); the logout's waits in the queue behind it.
      await sleep(100);
      expect((await client.graphql('mutation { logout }')).body).toEqual({ data: { logout: true } });
      let stopped = false;
      const stopping = server.stop().then(() => {
        stopped = true;
      });
      // The requests are over, their events held back by the lock: the stop waits for them.
      await sleep(500);
      expect(stopped).toBe(false);
      await locker.query('COMMIT');
      await stopping;
    } finally {
      await locker.query('ROLLBACK').catch(() => undefined);
      await locker.end();
    }
    const reopened = await openDatabase(config.database, testLogger);
    try {
      expect(
        await selectAll(
          reopened.orm.em.fork(),
          'SELECT kind, username, request_id IS NOT NULL AS has_request FROM gqlauth_audit_event ORDER BY id',
        ),
      ).toEqual([
        { kind: 'login', username: 'alice', has_request: true },
        { kind: 'logout', username: 'alice', has_request: true },
      ]);
    } finally {
      await reopened.close();
    }
  });
});
