/**
 * Django's permission checks (ModelBackend and PermissionsMixin): permissions held directly and through groups
 * add up; an active superuser has every permission; an inactive or anonymous user has none.
 *
 * One checker per request: a user's permissions, and the groups they come through, are loaded with one query the
 * first time either is needed, and kept for the rest of the request (Django's `_perm_cache`). A mutation that
 * changes who holds what calls `forget()`, so that what it answers is read again.
 */
import type { EntityManager } from '@mikro-orm/postgresql';
import { managedFromRow, selectAll } from '../db/sql.js';
import { Group } from '../entities/group.js';
import type { User } from '../entities/user.js';
import { authzVersionOf, type AuthorizationCache, type UserAuthorization } from './authorization-cache.js';
import { isAuthenticated, type RequestUser } from './anonymous.js';

type PermissionRow = { app_label: string; codename: string };

/**
 * A row of the one query: a group of the user (id and name) or a permission (perm, `app_label.codename`, and the
 * model it belongs to), never both.
 */
type AuthorizationRow = {
  group_id: number | null;
  group_name: string | null;
  perm: string | null;
  model: string | null;
};

const ALL = `SELECT ct.app_label, p.codename
  FROM auth_permission p JOIN django_content_type ct ON ct.id = p.content_type_id`;
const DIRECT = `SELECT uup.permission_id FROM auth_user_user_permissions uup WHERE uup.user_id = ?`;
const VIA_GROUPS = `SELECT gp.permission_id FROM auth_group_permissions gp
  JOIN auth_user_groups ug ON ug.group_id = gp.group_id WHERE ug.user_id = ?`;
const GROUPS = `SELECT g.id AS group_id, g.name AS group_name, NULL::text AS perm, NULL::text AS model
  FROM auth_group g JOIN auth_user_groups ug ON ug.group_id = g.id WHERE ug.user_id = ?`;
const PERMS = (where: string) => `SELECT NULL::integer, NULL::text, ct.app_label || '.' || p.codename, ct.model
  FROM auth_permission p JOIN django_content_type ct ON ct.id = p.content_type_id ${where}`;

export class PermissionChecker {
  private readonly cache = new Map<number, Promise<UserAuthorization>>();
  /** False once this request changed grants: the version its users were read with is then out of date. */
  private versionsHold = true;
  /** The request's access token limits its owner to these permissions (limitTo). */
  private limit: { readonly userId: number; readonly scopes: ReadonlySet<string> } | undefined;

  /** `shared`: what other requests of this process loaded, each under the authorization version it was read at. */
  constructor(
    private readonly em: EntityManager,
    private readonly shared?: AuthorizationCache,
  ) {}

  /**
   * Drops what was loaded: the next check reads the database again (after a change of grants or groups). For the
   * rest of the request, the database is asked, never the shared cache.
   */
  forget(): void {
    this.cache.clear();
    this.versionsHold = false;
  }

  /**
   * The request came with an access token limited to `scopes`: for its owner, every answer is what they hold now
   * within them. A superuser's scoped token holds its scopes only, not everything.
   */
  limitTo(userId: number, scopes: Iterable<string>): void {
    this.limit = { userId, scopes: new Set(scopes) };
  }

  /** False when the request's token does not reach `perm` for this user (then nothing else grants it). */
  withinScope(user: RequestUser | null, perm: string): boolean {
    return !this.limit || !isAuthenticated(user) || user.id !== this.limit.userId || this.limit.scopes.has(perm);
  }

  /** `perms` within the request's token's scopes, for this user. */
  private scoped(user: RequestUser | null, perms: ReadonlySet<string>): ReadonlySet<string> {
    const { limit } = this;
    if (!limit || !isAuthenticated(user) || user.id !== limit.userId) return perms;
    return new Set([...perms].filter((perm) => limit.scopes.has(perm)));
  }

  /** The user's groups, by name (from the same query as their permissions). */
  async getGroups(user: RequestUser): Promise<Group[]> {
    if (!isAuthenticated(user)) return [];
    // A copy of each row: the rows may be the shared cache's, and the identity map may keep or change what it is given.
    return (await this.load(user)).groups.map((group) => managedFromRow(this.em, Group, { ...group }));
  }

  /** Permissions granted to the user directly, as `app_label.codename`. */
  async getUserPermissions(user: RequestUser | null): Promise<ReadonlySet<string>> {
    return this.scoped(user, await this.queryIds(user, DIRECT, 1));
  }

  /** Permissions the user holds through groups. */
  async getGroupPermissions(user: RequestUser | null): Promise<ReadonlySet<string>> {
    return this.scoped(user, await this.queryIds(user, VIA_GROUPS, 1));
  }

  /** Everything the user holds, directly or through groups: one query, cached for this checker's lifetime. */
  async getAllPermissions(user: RequestUser | null): Promise<ReadonlySet<string>> {
    if (!isAuthenticated(user) || !user.isActive) return new Set();
    return this.scoped(user, (await this.load(user)).permissions);
  }

  /**
   * Django's `has_perm`. With `obj`, the question is about one object: the model-level backend answers no for
   * it (object permissions come from their own backend), unless the user is an active superuser.
   */
  async hasPerm(user: RequestUser | null, perm: string, obj?: unknown): Promise<boolean> {
    if (!isAuthenticated(user) || !user.isActive) return false;
    // Before the superuser's shortcut: a token limited to some permissions holds no other, whoever owns it.
    if (!this.withinScope(user, perm)) return false;
    if (user.isSuperuser) return true;
    if (obj !== undefined) return false;
    return (await this.getAllPermissions(user)).has(perm);
  }

  /**
   * `hasPerm` asked about the objects of one model (`polls.poll`): the permission must be one of that model's
   * (guardian looks a codename up among the object's content type's permissions). `polls.view_poll` held at the
   * model level covers every poll, and no choice. A model of another app never matches; an active superuser holds
   * everything, as in `hasPerm`. `model` undefined: the permission's own model, whichever it is.
   */
  async hasPermOnModel(user: RequestUser | null, perm: string, model: string | undefined): Promise<boolean> {
    if (model === undefined) return this.hasPerm(user, perm);
    if (!isAuthenticated(user) || !user.isActive) return false;
    if (!this.withinScope(user, perm)) return false;
    if (user.isSuperuser) return true;
    const { appLabel, codename } = splitPermission(perm);
    if (!model.startsWith(`${appLabel}.`)) return false;
    return (await this.load(user)).onModels.has(`${model}.${codename}`);
  }

  /** All of `perms`. */
  async hasPerms(user: RequestUser | null, perms: readonly string[]): Promise<boolean> {
    for (const perm of perms) if (!(await this.hasPerm(user, perm))) return false;
    return true;
  }

  /** Any permission in the app (Django's `has_module_perms`). */
  async hasModulePerms(user: RequestUser | null, appLabel: string): Promise<boolean> {
    if (!isAuthenticated(user) || !user.isActive) return false;
    const { limit } = this;
    if (limit && user.id === limit.userId)
      return [...(await this.getAllPermissions(user))].some((perm) => perm.startsWith(`${appLabel}.`));
    if (user.isSuperuser) return true;
    return [...(await this.getAllPermissions(user))].some((perm) => perm.startsWith(`${appLabel}.`));
  }

  /** The user's groups and permissions, in one query, once. */
  private load(user: User): Promise<UserAuthorization> {
    let cached = this.cache.get(user.id);
    if (!cached) {
      const loading = this.loadNow(user);
      // A failure (a dropped connection) is not remembered: the next check asks again.
      loading.catch(() => this.cache.delete(user.id));
      cached = loading;
      this.cache.set(user.id, cached);
    }
    return cached;
  }

  private async loadNow(user: User): Promise<UserAuthorization> {
    // Inside a transaction, what is read may include its uncommitted changes (and roll back): never shared.
    const version = this.versionsHold && !this.em.isInTransaction() ? authzVersionOf(user) : undefined;
    const cached = version === undefined ? undefined : this.shared?.get(user, version);
    if (cached) return cached;
    const loaded = await this.query(user);
    if (version !== undefined) this.shared?.set(user, version, loaded);
    return loaded;
  }

  private async query(user: User): Promise<UserAuthorization> {
    // An inactive user holds nothing, but is still in their groups.
    const perms = !user.isActive
      ? ''
      : user.isSuperuser
        ? ` UNION ALL ${PERMS('')}`
        : ` UNION ALL ${PERMS(`WHERE p.id IN (${DIRECT} UNION ${VIA_GROUPS})`)}`;
    const params = !user.isActive || user.isSuperuser ? [user.id] : [user.id, user.id, user.id];
    const rows = await selectAll<AuthorizationRow>(this.em, `${GROUPS}${perms}`, params);
    const groups: { id: number; name: string }[] = [];
    const permissions = new Set<string>();
    const onModels = new Set<string>();
    for (const { group_id: id, group_name: name, perm, model } of rows) {
      if (perm !== null) {
        permissions.add(perm);
        const { appLabel, codename } = splitPermission(perm);
        onModels.add(`${appLabel}.${model ?? ''}.${codename}`);
      } else if (id !== null && name !== null) groups.push({ id, name });
    }
    groups.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    // In order once, here: `me { permissions }` sorts them at every request, which on a sorted list is one pass.
    return { groups, permissions: new Set([...permissions].sort()), onModels };
  }

  private async queryIds(user: RequestUser | null, ids: string, idParams: number): Promise<ReadonlySet<string>> {
    if (!isAuthenticated(user) || !user.isActive) return new Set();
    // Inside the request's transaction when there is one: it sees its own uncommitted grants.
    const rows = user.isSuperuser
      ? await selectAll<PermissionRow>(this.em, ALL)
      : await selectAll<PermissionRow>(this.em, `${ALL} WHERE p.id IN (${ids})`, Array<number>(idParams).fill(user.id));
    return new Set(rows.map((row) => `${row.app_label}.${row.codename}`));
  }
}

/** `polls.view_poll` as its app label and codename (the codename may itself hold dots: only the first splits). */
export function splitPermission(perm: string): { appLabel: string; codename: string } {
  const dot = perm.indexOf('.');
  return dot < 0 ? { appLabel: '', codename: perm } : { appLabel: perm.slice(0, dot), codename: perm.slice(dot + 1) };
}
