/**
 * The audit log's retention: the table refuses updates and deletes (append-only) but the prune's, which deletes
 * the events older than AUDIT_RETENTION_DAYS (or --days), as `npm run manage -- pruneaudit` run by an operator.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { pruneAuditEvents, retentionCutoff } from '../../src/audit/prune.js';
import { openDatabase, type Database } from '../../src/db/database.js';
import { run, selectAll } from '../../src/db/sql.js';
import { createEmptyDatabase, createTestDatabase, databaseEnv, type TestDatabase } from '../support/database.js';
import { testLogger } from '../support/env.js';
import { runManage } from '../support/process.js';

const DAY = 86_400_000;

/** Inserts one event per time, as the recorder would (the test plays the writer); returns nothing. */
async function insertAt(database: Database, times: Date[]): Promise<void> {
  for (const at of times)
    await run(database.orm.em.fork(), "INSERT INTO gqlauth_audit_event (at, kind) VALUES (?, 'login')", [at]);
}

async function times(database: Database): Promise<number[]> {
  const rows = await selectAll<{ at: string }>(
    database.orm.em.fork(),
    'SELECT at FROM gqlauth_audit_event ORDER BY at',
  );
  return rows.map((row) => new Date(row.at).getTime());
}

describe('the audit table', () => {
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

  it('refuses UPDATE, DELETE and TRUNCATE: rows leave only through the prune', async () => {
    const now = new Date('2026-12-06T12:00:00Z');
    await insertAt(database, [now]);
    const em = () => database.orm.em.fork();
    for (const statement of [
      "UPDATE gqlauth_audit_event SET kind = 'logout'",
      'DELETE FROM gqlauth_audit_event',
      'TRUNCATE gqlauth_audit_event',
    ]) {
      await expect(run(em(), statement)).rejects.toMatchObject({
        code: '42501',
        message: expect.stringMatching(/gqlauth_audit_event is append-only/),
      });
    }
    expect(await times(database)).toEqual([now.getTime()]);
  });

  it('prunes the events older than the retention, in batches, and says how many', async () => {
    const now = new Date('2026-12-06T12:00:00Z');
    expect(retentionCutoff(0, now)).toBeNull();
    const cutoff = retentionCutoff(30, now);
    expect(cutoff).toEqual(new Date(now.getTime() - 30 * DAY));
    const old = [40, 31, 30.0001].map((days) => new Date(now.getTime() - days * DAY));
    const kept = [30, 29, 0].map((days) => new Date(now.getTime() - days * DAY));
    const before = await times(database);
    await insertAt(database, [...old, ...kept]);
    // Two at a time: the loop goes on until a batch comes back short.
    expect(await pruneAuditEvents(database.orm.em.fork(), cutoff ?? now, 2)).toBe(3);
    expect(await times(database)).toEqual([...before, ...kept.map((at) => at.getTime())].sort((a, b) => a - b));
    expect(await pruneAuditEvents(database.orm.em.fork(), cutoff ?? now)).toBe(0);
  });
});

describe('npm run manage -- pruneaudit', () => {
  let testDatabase: TestDatabase;
  afterAll(() => testDatabase.drop());

  it('deletes what is past AUDIT_RETENTION_DAYS (or --days), keeps all with 0, and refuses bad input', async () => {
    testDatabase = await createTestDatabase();
    const env = databaseEnv(testDatabase);
    const now = Date.now();
    const database = await openDatabase(testDatabase.config, testLogger);
    try {
      await insertAt(
        database,
        [400, 40, 10, 1].map((days) => new Date(now - days * DAY)),
      );
    } finally {
      await database.close();
    }
    // The default retention, 365 days.
    expect(await runManage(['pruneaudit'], env)).toMatchObject({
      code: 0,
      lines: ['1 audit event(s) older than 365 day(s) deleted'],
    });
    expect(await runManage(['pruneaudit'], { ...env, AUDIT_RETENTION_DAYS: '30' })).toMatchObject({
      code: 0,
      lines: ['1 audit event(s) older than 30 day(s) deleted'],
    });
    expect(await runManage(['pruneaudit'], { ...env, AUDIT_RETENTION_DAYS: '0' })).toMatchObject({
      code: 0,
      lines: ['audit events are kept forever (AUDIT_RETENTION_DAYS=0): none deleted'],
    });
    expect(await runManage(['pruneaudit', '--days', '5'], env)).toMatchObject({
      code: 0,
      lines: ['1 audit event(s) older than 5 day(s) deleted'],
    });
    const bad = await runManage(['pruneaudit', '--days', 'week'], env);
    expect(bad.code).toBe(1);
    expect(bad.err[0]).toMatch(/--days takes a whole number of days/);
    const reopened = await openDatabase(testDatabase.config, testLogger);
    try {
      expect(await times(reopened)).toHaveLength(1);
    } finally {
      await reopened.close();
    }
  });

  it('says so when the database was never migrated', async () => {
    const empty = await createEmptyDatabase();
    try {
      const result = await runManage(['pruneaudit'], databaseEnv(empty));
      expect(result.code).toBe(1);
      expect(result.err).toEqual(['error: the database has no audit table: run `npm run migrate` first']);
    } finally {
      await empty.drop();
    }
  });
});
