/**
 * The database handle: its pool against the embedded server's connection limit, and its failure messages.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import {
  openDatabase,
  explainConnectionError,
  describeTarget,
  describeUrl,
  type Database,
} from '../src/db/database.js';
import { createTestDatabase, type TestDatabase } from './support/database.js';
import { testLogger } from './support/env.js';

describe('the database pool', () => {
  let testDatabase: TestDatabase;
  let database: Database;
  beforeAll(async () => {
    testDatabase = await createTestDatabase();
    database = await openDatabase(testDatabase.config, testLogger);
  });
  afterAll(async () => {
    await database.close();
    await testDatabase.drop();
  });

  it('runs 60 concurrent queries without a refused connection', async () => {
    // Each query holds its connection for a moment, so the pool opens every connection it may. On the embedded
    // database a pool larger than pglite-socket's limit would see connections refused here.
    const connection = database.orm.em.getConnection();
    const results = await Promise.allSettled(
      Array.from({ length: 60 }, (_, i) => connection.execute<{ n: number }[]>(`SELECT ${i} AS n, pg_sleep(0.02)`)),
    );
    const refused = results.filter((result) => result.status === 'rejected');
    expect(refused.map((result) => String(result.reason))).toEqual([]);
    expect(results.map((result) => (result.status === 'fulfilled' ? result.value[0]?.n : null))).toEqual(
      Array.from({ length: 60 }, (_, i) => i),
    );
  });

  it('pings true while the database answers', async () => {
    expect(await database.ping()).toBe(true);
  });
});

describe('connection failure messages', () => {
  it.each([
    [{ code: 'ECONNREFUSED' }, 'connection refused (is PostgreSQL running and listening on that port?)'],
    [{ code: 'ENOTFOUND' }, 'host name not found'],
    [{ code: '28P01', message: 'password authentication failed for user "app"' }, 'password authentication failed'],
    [{ code: '3D000', message: 'database "nope" does not exist' }, 'the database does not exist'],
    [{ message: 'Connection terminated due to connection timeout' }, 'no answer within 5000 ms'],
    [{ message: 'something odd\n    at Socket.<anonymous> (pg/lib/client.js:1:1)' }, 'something odd'],
  ])('explains %j as "%s"', (error, reason) => {
    expect(explainConnectionError(error, undefined, 5000)).toBe(reason);
  });

  it('describes a URL without its user or password', () => {
    expect(describeUrl('postgres://app:hunter2@db.internal:6432/app')).toBe('db.internal:6432/app');
    expect(describeUrl('postgres://db.internal/app')).toBe('db.internal:5432/app');
  });

  it('names the database and server of a URL as pg reads it, without user or password', () => {
    expect(describeTarget('postgres://app:hunter2@db.internal:6432/my%20app')).toEqual({
      database: 'my app',
      server: 'db.internal:6432',
    });
    // No database in the URL: pg connects to the one named like the user.
    expect(describeTarget('postgres://app:hunter2@db.internal')).toEqual({
      database: 'app',
      server: 'db.internal:5432',
    });
    // libpq's form for a Unix socket.
    expect(describeTarget('postgres:///app?host=/run/postgresql&user=app')).toEqual({
      database: 'app',
      server: '/run/postgresql:5432',
    });
  });
});
