/**
 * Pays for initdb and migrations once per run: builds one migrated template, which every test file then
 * copies (a folder copy for the embedded database, CREATE DATABASE ... TEMPLATE on a server).
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { openDatabase } from '../../src/db/database.js';
import {
  RUN_ID_VAR,
  SCRATCH_DIR_VAR,
  TEMPLATE_DB_VAR,
  TEMPLATE_DIR_VAR,
  serverUrl,
  testLogger,
  withDatabase,
} from './env.js';

export async function setupRun(): Promise<void> {
  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'gqlauth-test-'));
  process.env[SCRATCH_DIR_VAR] = scratch;
  // Random, so that runs in other containers (where pids repeat) never touch this run's databases.
  const runId = `gqlauth_${crypto.randomBytes(4).toString('hex')}`;
  process.env[RUN_ID_VAR] = runId;

  const url = serverUrl();
  if (!url) {
    const dataDir = path.join(scratch, 'template');
    const database = await openDatabase({ kind: 'embedded', dataDir, migrateOnStart: true }, testLogger);
    await database.close();
    process.env[TEMPLATE_DIR_VAR] = dataDir;
    return;
  }

  const name = `${runId}_template`;
  const admin = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5000 });
  await admin.connect();
  try {
    await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  const database = await openDatabase(
    { kind: 'server', url: withDatabase(url, name), poolSize: 2, connectTimeoutMs: 5000, migrateOnStart: true },
    testLogger,
  );
  await database.close();
  process.env[TEMPLATE_DB_VAR] = name;
}
