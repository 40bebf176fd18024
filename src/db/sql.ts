/**
 * Raw SQL through an EntityManager, inside its transaction when it has one. `em.getConnection().execute()` alone
 * takes a fresh pool connection: outside the caller's transaction, blind to its uncommitted writes, and on the
 * embedded database (one backend) a deadlock while that transaction stays open.
 */
import type { EntityData, EntityName } from '@mikro-orm/core';
import type { EntityManager } from '@mikro-orm/postgresql';

/** A condition to put in a WHERE clause, with its `?` parameters. */
export interface SqlCondition {
  readonly sql: string;
  readonly params: readonly unknown[];
}

/** Whether PostgreSQL can store the text: no NUL character (no text or jsonb value takes it), no unpaired surrogate. */
export function isStorableText(text: string): boolean {
  return text.isWellFormed() && !text.includes('\u0000');
}

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

/**
 * The managed entity of a row selected under the entity's property names (`first_name AS "firstName"`): what
 * em.map makes of a row, without em.map's renaming of every column (most of its cost, on a hot path).
 */
export function managedFromRow<T extends object>(
  em: EntityManager,
  entity: EntityName<T>,
  properties: EntityData<T>,
): T {
  const managed = em
    .getEntityFactory()
    .create(entity, properties, { merge: true, newEntity: false, convertCustomTypes: true });
  // The snapshot taken again from the entity, as em.map's merge does: the factory's snapshot keeps timestamps as the
  // driver's strings, and every later flush would write them back (for a user: last_login, and with a stale one a
  // spent password-reset token would work again).
  em.getUnitOfWork().merge(managed);
  return managed;
}
