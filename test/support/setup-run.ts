/**
 * Pays for initdb and migrations once per run: builds one migrated template, which every test file then
 * copies (a folder copy for the embedded database, CREATE DATABASE ... TEMPLATE on a server), with the polls
 * example's tables and permissions (the test server installs it: test/support/app.ts). Checks the Redis
 * that TEST_REDIS_URL names, or says that the Redis session store's tests are skipped.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { createClient } from 'redis';
import polls from '../../examples/polls/index.ts';
import { openDatabase } from '../../src/db/database.js';
import { describeRedisUrl } from '../../src/stores/redis-connection.js';
import {
  RUN_ID_VAR,
  SCRATCH_DIR_VAR,
  TEMPLATE_DB_VAR,
  TEMPLATE_DIR_VAR,
  redisUrl,
  serverUrl,
  testLogger,
  withDatabase,
} from './env.js';

export async function setupRun(): Promise<void> {
  await checkRedis();
  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'gqlauth-test-'));
  process.env[SCRATCH_DIR_VAR] = scratch;
  // Random, so that runs in other containers (where pids repeat) never touch this run's databases.
  const runId = `gqlauth_${crypto.randomBytes(4).toString('hex')}`;
  process.env[RUN_ID_VAR] = runId;

  const url = serverUrl();
  if (!url) {
    const dataDir = path.join(scratch, 'template');
    const database = await openDatabase({ kind: 'embedded', dataDir, migrateOnStart: true }, testLogger, {
      apps: [polls],
    });
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
    { apps: [polls] },
  );
  await database.close();
  process.env[TEMPLATE_DB_VAR] = name;
}

/** A TEST_REDIS_URL that does not answer fails the run at once, rather than failing (or skipping) test by test. */
async function checkRedis(): Promise<void> {
  const url = redisUrl();
  if (!url) {
    process.stderr.write(
      '\nTEST_REDIS_URL is not set: the Redis session store tests are skipped ' +
        '(set it to run them, e.g. TEST_REDIS_URL=redis://127.0.0.1:6379 npm test)\n',
    );
    return;
  }
  const client = createClient({ url, socket: { connectTimeout: 3000, reconnectStrategy: false } });
  client.on('error', () => undefined); // the failure is reported below
  try {
    await client.connect();
    await client.ping();
  } catch (error) {
    throw new Error(`TEST_REDIS_URL=${describeRedisUrl(url)} does not answer a PING: ${String(error)}`, {
      cause: error,
    });
  } finally {
    client.destroy();
  }
}
