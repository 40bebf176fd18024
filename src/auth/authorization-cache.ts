/**
 * Users' groups and permissions kept between requests, in this process. An entry is used only under the
 * authorization version it was read at (Migration20261123050000_authz_version: a counter that every change to
 * memberships, grants, groups or permissions moves, whichever process or program makes it). The version is read
 * with each session, in the same statement, so a revoked permission is gone at the next request in every process.
 */
import { LRUCache } from 'lru-cache';
import type { User } from '../entities/user.js';

/** What one user holds: their groups, and every permission (direct, through groups, or all for a superuser). */
export interface UserAuthorization {
  readonly groups: readonly { readonly id: number; readonly name: string }[];
  /** As Django names them: `app_label.codename`. */
  readonly permissions: ReadonlySet<string>;
  /**
   * The same permissions with the model each belongs to, `app_label.model.codename` (`polls.poll.view_poll`): an
   * object-level question is about one model's objects, and a permission of another model never answers it.
   */
  readonly onModels: ReadonlySet<string>;
}

interface Entry {
  version: string;
  /** What the data depends on besides the tables the version covers: both come from the user's own row. */
  isSuperuser: boolean;
  isActive: boolean;
  data: UserAuthorization;
}

/** The version read with each user entity (by sessionUserOf); users loaded any other way have none. */
const versions = new WeakMap<User, string>();

export function rememberAuthzVersion(user: User, version: string): void {
  versions.set(user, version);
}

export function authzVersionOf(user: User): string | undefined {
  return versions.get(user);
}

export class AuthorizationCache {
  /** Bounded: the least recently seen users go first (an entry is a few hundred bytes). */
  private readonly entries: LRUCache<number, Entry>;

  constructor(maxUsers = 10_000) {
    this.entries = new LRUCache({ max: maxUsers });
  }

  get(user: User, version: string): UserAuthorization | undefined {
    const entry = this.entries.get(user.id);
    const fresh =
      entry?.version === version && entry.isSuperuser === user.isSuperuser && entry.isActive === user.isActive;
    return fresh ? entry.data : undefined;
  }

  set(user: User, version: string, data: UserAuthorization): void {
    this.entries.set(user.id, { version, isSuperuser: user.isSuperuser, isActive: user.isActive, data });
  }
}
