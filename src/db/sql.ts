/**
 * Raw SQL through an EntityManager, inside its transaction when it has one. `em.getConnection().execute()` alone
 * takes a fresh pool connection: outside the caller's transaction, blind to its uncommitted writes, and on the
 * embedded database (one backend) a deadlock while that transaction stays open.
 */
import type { EntityManager } from '@mikro-orm/postgresql';

/** Every row. Placeholders are `?`. */
export function selectAll<T extends object>(em: EntityManager, sql: string, params: unknown[] = []): Promise<T[]> {
  return em.getConnection().execute<T[]>(sql, params, 'all', em.getTransactionContext());
}

/** The first row, or undefined. */
export async function selectOne<T extends object>(
  em: EntityManager,
  sql: string,
  params: unknown[] = [],
): Promise<T | undefined> {
  return (await selectAll<T>(em, sql, params))[0];
}

/** Runs a statement; returns the number of rows it affected. */
export async function run(em: EntityManager, sql: string, params: unknown[] = []): Promise<number> {
  const result = await em
    .getConnection()
    .execute<{ affectedRows: number }>(sql, params, 'run', em.getTransactionContext());
  return result.affectedRows;
}
