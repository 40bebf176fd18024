/**
 * An isolated, migrated database for one test file: a copy of the run's template.
 * Embedded by default; on the server named by TEST_DATABASE_URL when it is set.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { describe } from '@jest/globals';
import pg from 'pg';
import type { DatabaseConfig } from '../../src/config/index.js';
import {
  RUN_ID_VAR,
  SCRATCH_DIR_VAR,
  TEMPLATE_DB_VAR,
  TEMPLATE_DIR_VAR,
  requireVar,
  serverUrl,
  withDatabase,
} from './env.js';

export interface TestDatabase {
  readonly config: DatabaseConfig;
  /** Removes the database; call after everything using it has closed. */
  drop(): Promise<void>;
}

/** The environment that points a server process (or a command) at a test database. */
export function databaseEnv(testDatabase: TestDatabase): Record<string, string> {
  return testDatabase.config.kind === 'server'
    ? { DATABASE_URL: testDatabase.config.url }
    : { DATA_DIR: testDatabase.config.dataDir };
}

export function usingServer(): boolean {
  return serverUrl() !== undefined;
}

/**
 * A block of tests for a PostgreSQL server only (TEST_DATABASE_URL): on the embedded database it is skipped, and its
 * title says so. Each caller says in a comment why its block needs a server.
 */
export function describeOnServer(title: string, body: () => void): void {
  if (usingServer()) describe(title, body);
  else describe.skip(`${title} (skipped: needs TEST_DATABASE_URL)`, body);
}

/** A fresh scratch folder under this run's scratch directory (removed at the end of the run). */
export function scratchDir(prefix: string): string {
  return fs.mkdtempSync(path.join(requireVar(SCRATCH_DIR_VAR), `${prefix}-`));
}

export async function createTestDatabase(): Promise<TestDatabase> {
  const url = serverUrl();
  if (!url) {
    const dataDir = scratchDir('db');
    fs.cpSync(requireVar(TEMPLATE_DIR_VAR), dataDir, { recursive: true });
    return {
      config: { kind: 'embedded', dataDir, migrateOnStart: true },
      drop: async () => {
        await fs.promises.rm(dataDir, { recursive: true, force: true });
      },
    };
  }

  const name = `${requireVar(RUN_ID_VAR)}_${crypto.randomBytes(4).toString('hex')}`;
  await adminQuery(url, `CREATE DATABASE ${name} TEMPLATE ${requireVar(TEMPLATE_DB_VAR)}`);
  return {
    config: { kind: 'server', url: withDatabase(url, name), poolSize: 5, connectTimeoutMs: 5000, migrateOnStart: true },
    drop: () => adminQuery(url, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`),
  };
}

/** A database with nothing in it, not even the migrations: what a user's first start meets. */
export async function createEmptyDatabase(): Promise<TestDatabase> {
  const url = serverUrl();
  if (!url) {
    const dataDir = path.join(scratchDir('empty'), 'data');
    return {
      config: { kind: 'embedded', dataDir, migrateOnStart: true },
      drop: async () => {
        await fs.promises.rm(dataDir, { recursive: true, force: true });
      },
    };
  }
  const name = `${requireVar(RUN_ID_VAR)}_${crypto.randomBytes(4).toString('hex')}`;
  await adminQuery(url, `CREATE DATABASE ${name}`);
  return {
    config: { kind: 'server', url: withDatabase(url, name), poolSize: 5, connectTimeoutMs: 5000, migrateOnStart: true },
    drop: () => adminQuery(url, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`),
  };
}

async function adminQuery(url: string, sql: string): Promise<void> {
  const admin = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5000 });
  await admin.connect();
  try {
    await admin.query(sql);
  } finally {
    await admin.end();
  }
}
