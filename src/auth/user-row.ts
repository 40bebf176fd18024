/**
 * The user entity of a row the session store read (src/stores/user-row.ts), and apart from it, the password hash its
 * session auth hash is checked against. The hash is handed over beside the entity, never put on it.
 */
import type { EntityManager } from '@mikro-orm/postgresql';
import { detachedFromRow, managedFromRow } from '../db/sql.js';
import { User } from '../entities/user.js';
import type { UserRow } from '../stores/user-row.js';
import { rememberAuthzVersion } from './authorization-cache.js';

export { loadUserRow, userRowSelect, type UserRow } from '../stores/user-row.js';

/** A user a session may name, with the password hash its auth hash is checked against. */
export interface SessionUser {
  user: User;
  passwordHash: string;
}

/**
 * The entity and, apart, the hash. No statement. The entity is not managed by `em` (detachedFromRow), unless the
 * request loaded that user already: nothing writes the request's user through it, and a use-case that changes a user
 * loads its own (admin.ts, `userOr404`).
 */
export function sessionUserOf(em: EntityManager, row: UserRow): SessionUser {
  const { password, gqlauth_authz_version: version, ...properties } = row;
  // A user this request already loaded gets the row merged in, its snapshot kept exact (managedFromRow): merged any
  // other way, its timestamps would differ from the snapshot and a later flush would write them back.
  const user =
    em.getUnitOfWork().getById(User, row.id) === undefined
      ? detachedFromRow(em, User, properties)
      : managedFromRow(em, User, properties);
  rememberAuthzVersion(user, version);
  return { user, passwordHash: password };
}
