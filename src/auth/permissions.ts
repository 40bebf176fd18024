/**
 * Django's permission checks (ModelBackend and PermissionsMixin): permissions held directly and through groups
 * add up; an active superuser has every permission; an inactive or anonymous user has none.
 *
 * One checker per request: a user's permissions are loaded with one query, the first time they are needed, and
 * kept for the rest of the request (Django's `_perm_cache`).
 */
import type { EntityManager } from '@mikro-orm/postgresql';
import { selectAll } from '../db/sql.js';
import { isAuthenticated, type RequestUser } from './anonymous.js';

type PermissionRow = { app_label: string; codename: string };

const ALL = `SELECT ct.app_label, p.codename
  FROM auth_permission p JOIN django_content_type ct ON ct.id = p.content_type_id`;
const DIRECT = `SELECT uup.permission_id FROM auth_user_user_permissions uup WHERE uup.user_id = ?`;
const VIA_GROUPS = `SELECT gp.permission_id FROM auth_group_permissions gp
  JOIN auth_user_groups ug ON ug.group_id = gp.group_id WHERE ug.user_id = ?`;

export class PermissionChecker {
  private readonly cache = new Map<number, Promise<ReadonlySet<string>>>();

  constructor(private readonly em: EntityManager) {}

  /** Permissions granted to the user directly, as `app_label.codename`. */
  getUserPermissions(user: RequestUser | null): Promise<ReadonlySet<string>> {
    return this.query(user, DIRECT, 1);
  }

  /** Permissions the user holds through groups. */
  getGroupPermissions(user: RequestUser | null): Promise<ReadonlySet<string>> {
    return this.query(user, VIA_GROUPS, 1);
  }

  /** Everything the user holds, directly or through groups: one query, cached for this checker's lifetime. */
  getAllPermissions(user: RequestUser | null): Promise<ReadonlySet<string>> {
    if (!isAuthenticated(user) || !user.isActive) return Promise.resolve(new Set());
    let cached = this.cache.get(user.id);
    if (!cached) {
      const loading = this.query(user, `${DIRECT} UNION ${VIA_GROUPS}`, 2);
      // A failure (a dropped connection) is not remembered: the next check asks again.
      loading.catch(() => this.cache.delete(user.id));
      cached = loading;
      this.cache.set(user.id, cached);
    }
    return cached;
  }

  /**
   * Django's `has_perm`. With `obj`, the question is about one object: the model-level backend answers no for
   * it (object permissions come from their own backend), unless the user is an active superuser.
   */
  async hasPerm(user: RequestUser | null, perm: string, obj?: unknown): Promise<boolean> {
    if (!isAuthenticated(user) || !user.isActive) return false;
    if (user.isSuperuser) return true;
    if (obj !== undefined) return false;
    return (await this.getAllPermissions(user)).has(perm);
  }

  /** All of `perms`. */
  async hasPerms(user: RequestUser | null, perms: readonly string[]): Promise<boolean> {
    for (const perm of perms) if (!(await this.hasPerm(user, perm))) return false;
    return true;
  }

  /** Any permission in the app (Django's `has_module_perms`). */
  async hasModulePerms(user: RequestUser | null, appLabel: string): Promise<boolean> {
    if (!isAuthenticated(user) || !user.isActive) return false;
    if (user.isSuperuser) return true;
    return [...(await this.getAllPermissions(user))].some((perm) => perm.startsWith(`${appLabel}.`));
  }

  private async query(user: RequestUser | null, ids: string, idParams: number): Promise<ReadonlySet<string>> {
    if (!isAuthenticated(user) || !user.isActive) return new Set();
    // Inside the request's transaction when there is one: it sees its own uncommitted grants.
    const rows = user.isSuperuser
      ? await selectAll<PermissionRow>(this.em, ALL)
      : await selectAll<PermissionRow>(this.em, `${ALL} WHERE p.id IN (${ids})`, Array<number>(idParams).fill(user.id));
    return new Set(rows.map((row) => `${row.app_label}.${row.codename}`));
  }
}
