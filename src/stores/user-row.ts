/**
 * A user read as one row, password hash included: what a request needs to know who is logged in and whether the
 * session still matches the password, in one statement (Django reads both with one query too). The session stores
 * read it with the session (getSessionAndUser); the core makes the entity of it (src/auth/user-row.ts).
 */
import type { EntityManager } from '@mikro-orm/postgresql';
import { ReferenceKind, type EntityMetadata } from '@mikro-orm/core';
import { selectOne } from '../db/sql.js';
import { User } from '../entities/user.js';

/**
 * auth_user's columns as the database returns them, each under the entity's name for it (firstName, not
 * first_name), the password hash among them, and the authorization version read with them
 * (src/auth/authorization-cache.ts).
 */
export type UserRow = Record<string, unknown> & { id: number; password: string; gqlauth_authz_version: string };

/** SELECT lists by table alias, for each metadata (each ORM): built once, used by every authenticated request. */
const selectLists = new WeakMap<EntityMetadata, Map<string, string>>();

/**
 * The SELECT list of a UserRow: the user entity's columns (every scalar property, the lazy password included), each
 * named as its property, and the authorization version.
 */
export function userRowSelect(em: EntityManager, alias: string): string {
  const meta = em.getMetadata(User);
  let byAlias = selectLists.get(meta);
  if (!byAlias) selectLists.set(meta, (byAlias = new Map<string, string>()));
  let select = byAlias.get(alias);
  if (select === undefined) {
    // Names from the entity's metadata, never from input: quoting them is enough.
    const columns = meta.props
      .filter((prop) => prop.kind === ReferenceKind.SCALAR)
      .flatMap((prop) => prop.fieldNames.map((column) => `${alias}.${column} AS "${prop.name}"`));
    select = [...columns, '(SELECT version FROM gqlauth_authz_version) AS gqlauth_authz_version'].join(', ');
    byAlias.set(alias, select);
  }
  return select;
}

/** The user's row, or undefined when there is no such user. One statement. */
export function loadUserRow(em: EntityManager, userId: number): Promise<UserRow | undefined> {
  return selectOne<UserRow>(em, `SELECT ${userRowSelect(em, 'u')} FROM auth_user u WHERE u.id = ?`, [userId]);
}
