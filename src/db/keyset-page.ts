/**
 * One page of a table's rows in key order, after a cursor, with the number of rows in all pages: in ONE statement.
 *
 * MikroORM's `findByCursor` answers the same with two (a find and a count). A permission-scoped list runs on every
 * request, next to the session read: one round trip and one plan instead of two, and the count and the page see
 * the same snapshot (a row added between two statements could otherwise be counted and not listed).
 *
 *   const page = await keysetPage(em, Poll, { where: { sql: 't.question ILIKE ?', params: ['%lunch%'] }, first: 50 });
 */
import { ReferenceKind, type EntityMetadata, type EntityName } from '@mikro-orm/core';
import type { EntityManager } from '@mikro-orm/postgresql';
import { managedFromRow, selectAll, type SqlCondition } from './sql.js';

export interface KeysetPageOptions {
  /**
   * Which rows are in the list at all, on the table aliased `t`; every row when omitted. Meant to keep few rows (a
   * permission scope): the rows it keeps are read once, for both the count and the page.
   */
  readonly where?: SqlCondition;
  /** How many rows the page holds at most. */
  readonly first: number;
  /** The key of the last row of the previous page (its rows come after it); the first page when omitted. */
  readonly after?: string | number;
  /** The key property (the primary key by default): pages follow its order. */
  readonly key?: string;
}

export interface KeysetPage<T> {
  readonly items: T[];
  /** Rows in all pages, this one included. */
  readonly totalCount: number;
  readonly hasNextPage: boolean;
}

/** The key's column and whether it compares as a number (an integer key) or as text. */
export function keyColumnOf(
  em: EntityManager,
  entity: EntityName,
  key?: string,
): { table: string; column: string; property: string; type: 'integer' | 'text' } {
  const meta = em.getMetadata().get(entity);
  const name: string | undefined = key ?? meta.primaryKeys[0];
  const properties = meta.properties as Record<string, (typeof meta.properties)[keyof typeof meta.properties]>;
  const property = name === undefined ? undefined : properties[name];
  const column = property?.fieldNames[0];
  if (!property || column === undefined) throw new Error(`${meta.className} has no property ${String(name)}`);
  return {
    table: meta.tableName,
    column,
    property: property.name,
    type: String(property.runtimeType) === 'number' ? 'integer' : 'text',
  };
}

/** The SELECT list of an entity's eager columns, each named as its property: rows become entities without em.map. */
const selectLists = new WeakMap<EntityMetadata, string>();

function selectListOf(meta: EntityMetadata): string {
  let list = selectLists.get(meta);
  if (list === undefined) {
    // Names from the entity's metadata, never from input: quoting them is enough. Lazy properties stay unloaded, as
    // em.find leaves them; a many-to-one is its foreign key (the factory makes a reference of it).
    list = meta.props
      .filter(
        (prop) =>
          !prop.lazy &&
          (prop.fieldNames as string[] | undefined)?.length === 1 &&
          (prop.kind === ReferenceKind.SCALAR || (prop.kind === ReferenceKind.MANY_TO_ONE && !prop.formula)),
      )
      .map((prop) => `t."${prop.fieldNames[0] ?? ''}" AS "${prop.name}"`)
      .join(', ');
    selectLists.set(meta, list);
  }
  return list;
}

export async function keysetPage<T extends object>(
  em: EntityManager,
  entity: EntityName<T>,
  { where, first, after, key }: KeysetPageOptions,
): Promise<KeysetPage<T>> {
  const { table, column, property } = keyColumnOf(em, entity, key);
  const select = selectListOf(em.getMetadata().get(entity));
  const quoted = (name: string) => `"${name.replaceAll('"', '""')}"`;
  const keyColumn = `t.${quoted(column)}`;
  const afterParams = after === undefined ? [] : [after];
  // A condition (a permission scope, say) is read once: the keys it keeps are counted, and the page is the first of
  // them after the cursor. Without one, the table is counted and its first rows read by the primary key. Either way
  // the count is a one-row relation joined to the page, so that an empty page (past the end) still tells it.
  const [sql, params] = where
    ? [
        `WITH kept AS MATERIALIZED (SELECT ${keyColumn} AS k FROM ${quoted(table)} t WHERE ${where.sql})
         SELECT c.__total, page.* FROM (SELECT count(*) AS __total FROM kept) c
           LEFT JOIN LATERAL (SELECT ${select} FROM ${quoted(table)} t
                               WHERE ${keyColumn} IN (SELECT k FROM kept${after === undefined ? '' : ' WHERE k > ?'}
                                                       ORDER BY k LIMIT ?)
                               ORDER BY ${keyColumn}) page ON true`,
        [...where.params, ...afterParams, first + 1],
      ]
    : [
        `SELECT c.__total, page.* FROM (SELECT count(*) AS __total FROM ${quoted(table)}) c
           LEFT JOIN LATERAL (SELECT ${select} FROM ${quoted(table)} t${after === undefined ? '' : ` WHERE ${keyColumn} > ?`}
                               ORDER BY ${keyColumn} LIMIT ?) page ON true`,
        [...afterParams, first + 1],
      ];
  const rows = await selectAll<Record<string, unknown> & { __total: string | number }>(em, sql, params);
  const totalCount = Number(rows[0]?.__total ?? 0);
  const found = rows.filter((row) => row[property] !== null && row[property] !== undefined);
  const items = found.slice(0, first).map((row) => {
    const properties: Record<string, unknown> = { ...row };
    delete properties.__total;
    return managedFromRow(em, entity, properties as never);
  });
  return { items, totalCount, hasNextPage: found.length > first };
}
