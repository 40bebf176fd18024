import fs from 'node:fs';
import pg from 'pg';
import { RUN_ID_VAR, SCRATCH_DIR_VAR, serverUrl } from './env.js';

export async function teardownRun(): Promise<void> {
  const scratch = process.env[SCRATCH_DIR_VAR];
  if (scratch) fs.rmSync(scratch, { recursive: true, force: true });

  const url = serverUrl();
  const runId = process.env[RUN_ID_VAR];
  if (!url || !runId) return;
  const admin = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5000 });
  await admin.connect();
  try {
    // The template, and any database a crashed test file could not drop.
    const { rows } = await admin.query<{ datname: string }>(
      `SELECT datname FROM pg_database WHERE starts_with(datname, $1)`,
      [`${runId}_`],
    );
    for (const { datname } of rows) await admin.query(`DROP DATABASE IF EXISTS "${datname}" WITH (FORCE)`);
  } finally {
    await admin.end();
  }
}
