/**
 * A user read as one row, password hash included: what a request needs to know who is logged in (the entity) and
 * whether the session still matches the password (the hash), in one statement (Django reads both with one query
 * too). The hash is handed over beside the entity, never put on it.
 */
import type { EntityManager } from '@mikro-orm/postgresql';
import { ReferenceKind } from '@mikro-orm/core';
import { selectOne } from '../db/sql.js';
import { User } from '../entities/user.js';
import { rememberAuthzVersion } from './authorization-cache.js';

/**
 * auth_user's columns as the database returns them, the password hash among them, and the authorization version
 * read with them (authorization-cache.ts).
 */
export type UserRow = Record<string, unknown> & { id: number; password: string; gqlauth_authz_version: string };

/** A user a session may name, with the password hash its auth hash is checked against. */
export interface SessionUser {
  user: User;
  passwordHash: string;
}

/**
 * The SELECT list of a UserRow: the user entity's columns (every scalar property, the lazy password included) and
 * the authorization version.
 */
export function userRowSelect(em: EntityManager, alias: string): string {
  const columns = em
    .getMetadata(User)
    .props.filter((prop) => prop.kind === ReferenceKind.SCALAR)
    .flatMap((prop) => prop.fieldNames);
  return [
    ...columns.map((column) => `${alias}.${column}`),
    '(SELECT version FROM gqlauth_authz_version) AS gqlauth_authz_version',
  ].join(', ');
}

/** The user's row, or undefined when there is no such user. One statement. */
export function loadUserRow(em: EntityManager, userId: number): Promise<UserRow | undefined> {
  return selectOne<UserRow>(em, `SELECT ${userRowSelect(em, 'u')} FROM auth_user u WHERE u.id = ?`, [userId]);
}

/** The entity (managed by `em`, as if it had loaded it) and, apart, the hash. No statement. */
export function sessionUserOf(em: EntityManager, row: UserRow): SessionUser {
  const { password, gqlauth_authz_version: version, ...columns } = row;
  const user = em.map(User, columns);
  rememberAuthzVersion(user, version);
  return { user, passwordHash: password };
}
