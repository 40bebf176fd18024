/** What tests ask the pipelined connection (src/db/pipeline.ts) about its backend. */
import pg from 'pg';
import type { PipelinedConnection } from '../../src/db/pipeline.js';

/** The process id of the backend the connection is on (a new one after a reconnect). */
export async function backendOf(on: PipelinedConnection): Promise<number | undefined> {
  const statement = { name: 'test_backend_pid', text: 'SELECT pg_backend_pid() AS pid', values: [] };
  return (await on.query<{ pid: number }>(statement)).rows[0]?.pid;
}

/** The names of the statements prepared on the connection's backend, or on a pool connection's. */
export async function preparedNamesOn(on: PipelinedConnection | pg.Pool): Promise<string[]> {
  const statement = { name: 'test_prepared_names', text: 'SELECT name FROM pg_prepared_statements', values: [] };
  const { rows } = await (on instanceof pg.Pool
    ? on.query<{ name: string }>(statement)
    : on.query<{ name: string }>(statement));
  // As preparedOne was given them: without the hash of the statement's text it prepares them under (preparedName).
  return rows.map(({ name }) => name.replace(/_[0-9a-f]{12}$/, ''));
}
