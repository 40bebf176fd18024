/**
 * Raw SQL through an EntityManager, inside its transaction when it has one. `em.getConnection().execute()` alone
 * takes a fresh pool connection: outside the caller's transaction, blind to its uncommitted writes, and on the
 * embedded database (one backend) a deadlock while that transaction stays open.
 */
import { ReferenceKind, type EntityData, type EntityMetadata, type EntityName } from '@mikro-orm/core';
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

/**
 * What a named statement meets where the connection is not what it seems, after which a process sends every
 * statement unnamed: 26000 (the statement a pooler's other server connection never saw: PgBouncer in transaction
 * mode), 42P05 (a name already prepared: PGlite's one backend behind several connections) and 0A000 (a cached plan
 * whose result changed: a column altered by a migration of another project while this one ran).
 */
const NAMES_UNUSABLE = new Set(['26000', '42P05', '0A000']);
/** Pools where a named statement failed so: statements go unnamed there from then on. */
const unnamedPools = new WeakSet<object>();

/**
 * The first row of a statement PostgreSQL prepares once per connection, under `name`, instead of parsing and planning
 * it at every call: for the one statement every authenticated request runs (its database CPU per request went from
 * 213 to 125 us in the bench). Placeholders are $1, $2, ...; `text` must be the same for a name all the process
 * long. Without a name, or where names fail (NAMES_UNUSABLE: retried once unnamed, then unnamed for good), it is
 * parsed at each call. Outside any transaction (straight on the ORM's pool), and logged as the ORM logs its own.
 */
export async function preparedOne<T extends object>(
  em: EntityManager,
  name: string | undefined,
  text: string,
  values: unknown[],
): Promise<T | undefined> {
  const pool = await em.getConnection().getNativeClient();
  const started = performance.now();
  const named = name !== undefined && !unnamedPools.has(pool);
  let result;
  try {
    result = await pool.query<T>(named ? { name, text, values } : { text, values });
  } catch (error) {
    if (!named || !NAMES_UNUSABLE.has(String((error as { code?: unknown }).code))) throw error;
    unnamedPools.add(pool);
    result = await pool.query<T>({ text, values });
  }
  em.config
    .getLogger()
    .logQuery({ query: text, took: Math.round(performance.now() - started), results: result.rowCount ?? 0 });
  return result.rows[0];
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
  // spent password-reset token would work again). Skipped where no column can differ so (a group: an id and a
  // name), which is most of the cost of each of a user's groups.
  if (!snapshotIsExact(em.getMetadata(entity))) em.getUnitOfWork().merge(managed);
  return managed;
}

const exactSnapshots = new WeakMap<EntityMetadata, boolean>();

/**
 * Whether the factory's snapshot of a row equals the entity's own: every column a number, string or boolean, which
 * the driver returns as the entity holds it (no Date, no JSON, no custom type).
 */
function snapshotIsExact(meta: EntityMetadata): boolean {
  let exact = exactSnapshots.get(meta);
  if (exact === undefined) {
    exact = meta.props.every(
      (prop) =>
        prop.kind !== ReferenceKind.SCALAR ||
        (prop.customType === undefined && ['number', 'string', 'boolean'].includes(prop.runtimeType)),
    );
    exactSnapshots.set(meta, exact);
  }
  return exact;
}
