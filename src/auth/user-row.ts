/**
 * The user entity of a row the session store read (src/stores/user-row.ts), and apart from it, the password hash its
 * session auth hash is checked against. The hash is handed over beside the entity, never put on it.
 */
import type { EntityManager } from '@mikro-orm/postgresql';
import { managedFromRow } from '../db/sql.js';
import { User } from '../entities/user.js';
import type { UserRow } from '../stores/user-row.js';
import { rememberAuthzVersion } from './authorization-cache.js';

export { loadUserRow, userRowSelect, type UserRow } from '../stores/user-row.js';

/** A user a session may name, with the password hash its auth hash is checked against. */
export interface SessionUser {
  user: User;
  passwordHash: string;
}

/** The entity (managed by `em`, as if it had loaded it) and, apart, the hash. No statement. */
export function sessionUserOf(em: EntityManager, row: UserRow): SessionUser {
  const { password, gqlauth_authz_version: version, ...properties } = row;
  const user = managedFromRow(em, User, properties);
  rememberAuthzVersion(user, version);
  return { user, passwordHash: password };
}
