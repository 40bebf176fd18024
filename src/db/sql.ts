/**
 * Raw SQL through an EntityManager, inside its transaction when it has one. `em.getConnection().execute()` alone
 * takes a fresh pool connection: outside the caller's transaction, blind to its uncommitted writes, and on the
 * embedded database (one backend) a deadlock while that transaction stays open.
 */
import { createHash } from 'node:crypto';
import { ReferenceKind, type EntityData, type EntityMetadata, type EntityName } from '@mikro-orm/core';
import type { EntityManager } from '@mikro-orm/postgresql';
import pg from 'pg';
import { PossiblyStaleStatementError, type PipelinedConnection } from './pipeline.js';

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
 * statement unnamed if the statement is answered so: 26000 (the statement a pooler's other server connection never
 * saw: PgBouncer in transaction mode), 42P05 (a name already prepared: PGlite's one backend behind several
 * connections) and 0A000 (a cached plan whose result changed on a pool connection: a column altered by a migration of
 * another project while this one ran; or a server that takes no named statements).
 */
const NAMES_UNUSABLE = new Set(['26000', '42P05', '0A000']);
/** Pools where a named statement failed so, and went through unnamed: statements go unnamed there from then on. */
const unnamedPools = new WeakSet<object>();

/** The names preparedName gave, by name and text. */
const preparedNames = new Map<string, Map<string, string>>();

/**
 * The name a statement is prepared under: its name and a hash of its text. Behind a pooler in transaction mode, a
 * Bind may reach a server connection where another process prepared the name, and would run that process's text: in
 * a rolling deploy, another version's (the user columns it reads may differ). Named after its text, a statement only
 * ever meets its own. The hash is made once per name and text, not at every call.
 */
function preparedName(name: string, text: string): string {
  let texts = preparedNames.get(name);
  if (texts === undefined) preparedNames.set(name, (texts = new Map<string, string>()));
  let prepared = texts.get(text);
  if (prepared === undefined) {
    prepared = `${name}_${createHash('sha256').update(text).digest('hex').slice(0, 12)}`;
    texts.set(text, prepared);
  }
  return prepared;
}

/** Pools whose named statements go over a pipelined connection (src/db/pipeline.ts), set by the database. */
const pipelines = new WeakMap<object, PipelinedConnection>();

/** Sends `pool`'s named statements (preparedOne) over `pipeline` from now on. */
export function pipelineNamedStatements(pool: object, pipeline: PipelinedConnection): void {
  pipelines.set(pool, pipeline);
}

/**
 * Errors after which a statement from the pipelined connection is sent again on the pool (it only reads): any that is
 * not the server's (the socket closed, refused, reset, or timed out), and the server's of class 08 (connection
 * exception), 53 (insufficient resources: too many connections) and 57P (the backend ended: an administrator, a
 * shutdown). Never a statement timeout (57014): run again, it would double the wait of a server already slow. (A
 * statement whose preparation may be stale, PossiblyStaleStatementError, is sent again on the pool too: see there.)
 */
function sendAgainOnPool(error: unknown): boolean {
  if (!(error instanceof pg.DatabaseError)) return true;
  return /^(08|53|57P)/.test(error.code ?? '');
}

/**
 * The first row of a statement PostgreSQL prepares once per connection, under `name`, instead of parsing and planning
 * it at every call: for the one statement every authenticated request runs (its database CPU per request went from
 * 213 to 125 us in the bench). Placeholders are $1, $2, ...; a name's text may change (another configuration's
 * columns), and is prepared under a name of its own (preparedName). Reads only (a SELECT): a statement may be sent
 * twice (below). Outside any transaction, and logged as the ORM logs its own.
 *
 * A named statement goes over the database's pipelined connection where it has one (a server: src/db/pipeline.ts),
 * and is sent again on the pool if that connection fails. Without a name, or where names fail (NAMES_UNUSABLE: retried
 * unnamed, and unnamed for good once that went through), it is parsed at each call, on the pool.
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
  const prepared = named ? preparedName(name, text) : undefined;
  const pipeline = prepared === undefined ? undefined : pipelines.get(pool);
  let result;
  try {
    result =
      pipeline && prepared !== undefined
        ? await pipeline.query<T>({ name: prepared, text, values })
        : await pool.query<T>(prepared === undefined ? { text, values } : { name: prepared, text, values });
  } catch (error) {
    if (error instanceof PossiblyStaleStatementError) {
      // Answered unnamed, its preparation was what failed: the pipelined connection is let go. Failing so too, it is
      // the statement's own error (or its values'), and this one is thrown.
      result = await pool.query<T>({ text, values });
      error.stale();
    } else {
      result =
        pipeline && sendAgainOnPool(error)
          ? await pool.query<T>({ text, values })
          : await unnamedFromNowOn<T>(em, pool, named ? name : undefined, error, text, values);
    }
  }
  em.config
    .getLogger()
    .logQuery({ query: text, took: Math.round(performance.now() - started), results: result.rowCount ?? 0 });
  return result.rows[0];
}

/**
 * After the named statement `name` failed with `error`: where names are unusable (NAMES_UNUSABLE), the statement sent
 * unnamed, and the pool's named statements unnamed from now on. Any other error, or no name, is thrown.
 */
async function unnamedFromNowOn<T extends pg.QueryResultRow>(
  em: EntityManager,
  pool: pg.Pool,
  name: string | undefined,
  error: unknown,
  text: string,
  values: unknown[],
): Promise<pg.QueryResult<T>> {
  if (name === undefined || !NAMES_UNUSABLE.has(String((error as { code?: unknown }).code))) throw error;
  // Only once the statement is answered unnamed: one that fails so too (an invalid statement: 0A000 is also "feature
  // not supported") says nothing about names, and must not take them, and the pipelined connection, from every other.
  const result = await pool.query<T>({ text, values });
  // Said once: the statements in flight when names failed fail alike, each with its own retry.
  if (!unnamedPools.has(pool)) {
    unnamedPools.add(pool);
    em.config.getLogger().warn('query', `statement ${name} is sent unnamed from now on (${(error as Error).message})`);
  }
  return result;
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
  const shape = rowShape(em.getMetadata(entity));
  // Timestamps parsed here, as the entity holds them (em.map's parse): the factory's snapshot is then the entity's
  // own. Left as the driver's strings, the snapshot would differ from the entity, and every later flush would write
  // them back (for a user: last_login, and with a stale one a spent password-reset token would work again).
  const row = properties as Record<string, unknown>;
  for (const name of shape.dates) {
    const value = row[name];
    if (typeof value === 'string' || typeof value === 'number') row[name] = em.getPlatform().parseDate(value);
  }
  const managed = em
    .getEntityFactory()
    .create(entity, properties, { merge: true, newEntity: false, convertCustomTypes: true });
  // Where a column of another kind (JSON, a custom type) may differ so, the snapshot is taken again from the entity,
  // as em.map's merge does; it is most of the cost of the entity, so only there.
  if (!shape.exact) em.getUnitOfWork().merge(managed);
  return managed;
}

interface RowShape {
  /** The timestamp properties: the driver returns them as strings, the entity holds Dates. */
  readonly dates: readonly string[];
  /**
   * Whether the factory's snapshot of a row (its timestamps parsed) equals the entity's own: every other column a
   * number, string or boolean, which the driver returns as the entity holds it (no JSON, no custom type).
   */
  readonly exact: boolean;
}

const rowShapes = new WeakMap<EntityMetadata, RowShape>();

function rowShape(meta: EntityMetadata): RowShape {
  let shape = rowShapes.get(meta);
  if (shape === undefined) {
    const scalars = meta.props.filter((prop) => prop.kind === ReferenceKind.SCALAR);
    const dates = scalars.filter((prop) => prop.customType === undefined && prop.runtimeType === 'Date');
    const exact = scalars.every(
      (prop) => prop.customType === undefined && ['number', 'string', 'boolean', 'Date'].includes(prop.runtimeType),
    );
    shape = { dates: dates.map((prop) => prop.name), exact };
    rowShapes.set(meta, shape);
  }
  return shape;
}
