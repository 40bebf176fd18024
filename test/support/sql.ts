/**
 * Plain SQL against a test database through its own connection: for loading dumps (multi-statement SQL needs
 * the simple query protocol, which the ORM does not use) and for reading the schema as PostgreSQL reports it.
 */
import pg from 'pg';
import type { Database } from '../../src/db/database.js';
import type { TestDatabase } from './database.js';

/** A URL any PostgreSQL client can use for this test database. */
export function clientUrl(testDatabase: TestDatabase, database: Database): string {
  return testDatabase.config.kind === 'server' ? testDatabase.config.url : (database.embeddedUrl ?? '');
}

export async function withSql<T>(url: string, use: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5000 });
  await client.connect();
  try {
    return await use(client);
  } finally {
    await client.end();
  }
}

export interface SchemaSnapshot {
  columns: string[];
  constraints: string[];
  indexes: string[];
}

/** Columns, constraints and indexes of the public schema (optionally of some tables), as sorted text lines. */
export async function schemaOf(client: pg.Client, tables?: readonly string[]): Promise<SchemaSnapshot> {
  const only = (column: string) => (tables ? `AND ${column} = ANY($1)` : '');
  const params = tables ? [tables] : [];
  const lines = async (sql: string) =>
    (await client.query<{ line: string }>(sql, params)).rows.map((row) => row.line).sort();
  return {
    columns: await lines(`SELECT concat_ws(' ', table_name, column_name, data_type, character_maximum_length,
        is_nullable, column_default) AS line
      FROM information_schema.columns WHERE table_schema = 'public' ${only('table_name')}`),
    constraints: await lines(`SELECT concat_ws(' ', rel.relname, con.conname, pg_get_constraintdef(con.oid)) AS line
      FROM pg_constraint con JOIN pg_class rel ON rel.oid = con.conrelid
      WHERE con.connamespace = 'public'::regnamespace ${only('rel.relname')}`),
    indexes: await lines(`SELECT indexdef AS line FROM pg_indexes WHERE schemaname = 'public' ${only('tablename')}`),
  };
}

/** Every row of every listed table, as JSON lines, in a stable order. */
export async function rowsOf(client: pg.Client, tables: readonly string[]): Promise<Record<string, string[]>> {
  const result: Record<string, string[]> = {};
  for (const table of tables) {
    const { rows } = await client.query<{ row: string }>(`SELECT row_to_json(t)::text AS row FROM ${table} t`);
    result[table] = rows.map((row) => row.row).sort();
  }
  return result;
}
