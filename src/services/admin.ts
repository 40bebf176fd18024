/**
 * The admin use-cases (Django admin's user and group management, schema/admin.graphql). The directives decide who
 * may call each operation (an active staff member with Django's permission); these add the rules no directive can
 * express, so that nobody raises privileges through an input meant for something else:
 *  - isStaff and isSuperuser are set only by superusers, and only superusers act on a superuser's account;
 *  - nobody changes, re-passwords, deletes or takes rights from an account that holds anything they do not (model
 *    or object level, directly or through groups): setting its password or e-mail would let them log in as it;
 *  - one's own password changes only through changePassword, which asks for the current one;
 *  - nobody grants a permission, creates a group, or adds someone to a group, carrying more than they hold
 *    themselves, object-level grants included.
 * Each mutation is one transaction. Each change of what someone holds (grants, memberships) is an event on the bus,
 * emitted once it is stored and only when something changed: the audit log records who did it, to whom, and what.
 */
import type { EntityManager } from '@mikro-orm/postgresql';
import { isAuthenticated } from '../auth/anonymous.js';
import { ValidationError, type Auth, type PermissionChecker, type ValidationIssue } from '../auth/index.js';
import { heldBeyond } from '../auth/escalation.js';
import type { ObjectPermissionChecker } from '../auth/object-permissions.js';
import { grantObjectPermission, revokeObjectPermission } from '../auth/object-permissions.js';
import { validatePassword } from '../auth/password-validation.js';
import { storedHash } from '../auth/passwords.js';
import { codePoints } from '../auth/text.js';
import {
  normalizeEmail,
  normalizeUsername,
  validateEmail,
  validateEmailLength,
  validateNewUsername,
  validateUsername,
} from '../auth/users.js';
import type { Config } from '../config/index.js';
import { run, selectAll, selectOne } from '../db/sql.js';
import { Group } from '../entities/group.js';
import { Permission } from '../entities/permission.js';
import { User } from '../entities/user.js';
import { setPassword } from './accounts.js';
import { NotFound, NotLoggedIn, NotPermitted } from './errors.js';
import type { SessionFlow } from './session-flow.js';

export interface AdminDeps {
  readonly em: EntityManager;
  readonly core: Auth;
  readonly config: Pick<Config, 'passwords'>;
  /** The request's model-level checks: what the caller holds. */
  readonly permissions: PermissionChecker;
  /** The request's object-level checks. */
  readonly objectPermissions: ObjectPermissionChecker;
  /** Who calls; ending the sessions of an account whose password is set or that is deleted. */
  readonly session: Pick<SessionFlow, 'user' | 'endSessionsOf' | 'assertNotImpersonating' | 'accessToken'>;
}

/** A change to a user: only what is given (not omitted, not null) is changed. */
export interface UserChanges {
  username?: string | null | undefined;
  email?: string | null | undefined;
  firstName?: string | null | undefined;
  lastName?: string | null | undefined;
  isActive?: boolean | null | undefined;
  isStaff?: boolean | null | undefined;
  isSuperuser?: boolean | null | undefined;
}

export interface NewUser extends UserChanges {
  username: string;
  password?: string | null | undefined;
}

/** Who receives or loses a permission: a user or a group, by id. */
export type Grantee = { userId: number } | { groupId: number };

export interface UserPage {
  readonly items: User[];
  readonly totalCount: number;
  readonly hasNextPage: boolean;
}

/** An input field that was given (not omitted, not null): "change this". */
function given<T>(value: T | null | undefined): value is T {
  return value !== null && value !== undefined;
}

const keyOf = (permission: Permission) => `${permission.contentType.appLabel}.${permission.codename}`;

/** Django's `app_label.codename` of a permission. */
export const permissionKey = keyOf;

function nameIssues(value: string | null | undefined, field: 'firstName' | 'lastName'): ValidationIssue[] {
  return value && codePoints(value) > 150
    ? [{ code: 'max_length', message: `${field} has more than 150 characters.`, field }]
    : [];
}

/** The admin use-cases of one request. */
export class Admin {
  constructor(private readonly deps: AdminDeps) {}

  user(id: number): Promise<User | null> {
    return this.deps.em.findOne(User, id);
  }

  /** Users by id, `size` after `afterId`, those whose names or e-mail contain `search` (case-insensitively). */
  async users(search: string | null | undefined, size: number, afterId: number): Promise<UserPage> {
    const { em } = this.deps;
    // LIKE's own wildcards in the search are matched literally.
    const pattern = `%${(search ?? '').trim().replace(/[\\%_]/g, (char) => `\\${char}`)}%`;
    const matching = search?.trim()
      ? {
          $or: [
            { username: { $ilike: pattern } },
            { email: { $ilike: pattern } },
            { firstName: { $ilike: pattern } },
            { lastName: { $ilike: pattern } },
          ],
        }
      : {};
    const [page, totalCount] = await Promise.all([
      em.find(User, { ...matching, id: { $gt: afterId } }, { orderBy: { id: 'asc' }, limit: size + 1 }),
      em.count(User, matching),
    ]);
    return { items: page.slice(0, size), totalCount, hasNextPage: page.length > size };
  }

  groups(): Promise<Group[]> {
    return this.deps.em.find(
      Group,
      {},
      { orderBy: { name: 'asc' }, populate: ['permissions', 'permissions.contentType'] },
    );
  }

  permissions(): Promise<Permission[]> {
    return this.deps.em.find(
      Permission,
      {},
      { populate: ['contentType'], orderBy: { contentType: { appLabel: 'asc', model: 'asc' }, codename: 'asc' } },
    );
  }

  async createUser(input: NewUser): Promise<User> {
    const { em, core, config } = this.deps;
    const caller = await this.caller();
    if ((input.isStaff || input.isSuperuser) && !caller.isSuperuser) throw new NotPermitted();
    const issues = [
      ...validateEmail(input.email),
      ...nameIssues(input.firstName, 'firstName'),
      ...nameIssues(input.lastName, 'lastName'),
      ...(input.password
        ? (await validatePassword(input.password, config.passwords, input)).map((issue) => ({
            ...issue,
            field: 'password',
          }))
        : []),
    ];
    try {
      if (issues.length > 0) throw new ValidationError(issues);
      return await core.users.createUser(em, {
        username: input.username,
        email: input.email ?? '',
        password: input.password ?? null,
        firstName: input.firstName ?? '',
        lastName: input.lastName ?? '',
        isActive: input.isActive ?? true,
        isStaff: input.isStaff ?? false,
        isSuperuser: input.isSuperuser ?? false,
      });
    } catch (error) {
      if (!(error instanceof ValidationError)) throw error;
      const usernameIssues = issues.length > 0 ? validateUsername(normalizeUsername(input.username)) : [];
      throw new ValidationError([...usernameIssues, ...error.issues]);
    }
  }

  async updateUser(id: number, input: UserChanges): Promise<User> {
    const { em } = this.deps;
    const caller = await this.caller();
    const target = await this.userOr404(id);
    await this.guardTarget(caller, target);
    if ((given(input.isStaff) || given(input.isSuperuser)) && !caller.isSuperuser) throw new NotPermitted();
    // One's own e-mail decides where one's password reset goes: changing it from a session (perhaps someone else's
    // at an unlocked desk) would lead to setting the password without the current one, as setUserPassword on
    // oneself would. Another administrator changes it. (A superuser may: its session can do anything already.)
    const ownAccess = given(input.email) || given(input.username) || given(input.isActive);
    if (target.id === caller.id && !caller.isSuperuser && ownAccess)
      throw new NotPermitted('Your own e-mail, username and active flag are changed by another administrator.');
    const issues = [
      ...validateEmail(input.email),
      ...nameIssues(input.firstName, 'firstName'),
      ...nameIssues(input.lastName, 'lastName'),
    ];
    const username = given(input.username) ? normalizeUsername(input.username) : undefined;
    const email = given(input.email) ? normalizeEmail(input.email) : undefined;
    // Checked as stored: normalized, an address within its bound can outgrow its column (a 500 otherwise).
    if (email !== undefined) issues.push(...validateEmailLength(email));
    if (username !== undefined) {
      const usernameIssues = validateUsername(username);
      issues.push(...(issues.length === 0 ? await validateNewUsername(em, username, target.id) : usernameIssues));
    }
    if (issues.length > 0) throw new ValidationError(issues);
    const flags = { isActive: target.isActive, isStaff: target.isStaff, isSuperuser: target.isSuperuser };
    const before = { username: target.username, email: target.email };
    if (username !== undefined) target.username = username;
    if (email !== undefined) target.email = email;
    if (given(input.firstName)) target.firstName = input.firstName;
    if (given(input.lastName)) target.lastName = input.lastName;
    if (given(input.isActive)) target.isActive = input.isActive;
    if (given(input.isStaff)) target.isStaff = input.isStaff;
    if (given(input.isSuperuser)) target.isSuperuser = input.isSuperuser;
    await em.flush();
    // isActive and isSuperuser decide what a user holds: the rest of the request reads it again.
    this.deps.permissions.forget();
    const changed = Object.fromEntries(
      (['isActive', 'isStaff', 'isSuperuser'] as const)
        .filter((flag) => target[flag] !== flags[flag])
        .map((flag) => [flag, target[flag]]),
    );
    const { events } = this.deps.core;
    if (Object.keys(changed).length > 0)
      await events.emit('userStatusChanged', { actorId: caller.id, userId: target.id, changed });
    const identity = (['username', 'email'] as const).filter((field) => target[field] !== before[field]);
    if (identity.length > 0) {
      await events.emit('userIdentityChanged', {
        actorId: caller.id,
        userId: target.id,
        username: target.username,
        changed: identity,
        ...(target.username === before.username ? {} : { previousUsername: before.username }),
      });
    }
    return target;
  }

  async setUserPassword(id: number, password: string): Promise<true> {
    const { em, session } = this.deps;
    const caller = await this.caller();
    // A password change, as changePassword: not the business of someone acting as this admin.
    await session.assertNotImpersonating();
    const target = await this.userOr404(id);
    // The password as the admin found it, read first: a change or a reset that wins meanwhile is not overwritten.
    const stored = (await storedHash(em, target.id)) ?? '';
    // One's own password changes with the current one (changePassword): a session left open is not a password.
    if (target.id === caller.id)
      throw new NotPermitted('Change your own password with changePassword, which asks for the current one.');
    await this.guardTarget(caller, target);
    await setPassword(this.deps, {
      user: target,
      password,
      field: 'password',
      over: { hash: stored, via: 'admin' },
      // Their sessions end first: whoever was using them may be why the password is being set, and one of them
      // changing the password in a loop must not keep the admin's change losing the race.
      sessions: { before: () => session.endSessionsOf(target.id) },
    });
    return true;
  }

  async deleteUser(id: number): Promise<true> {
    const { em, session } = this.deps;
    const caller = await this.caller();
    const target = await this.userOr404(id);
    await this.guardTarget(caller, target);
    await session.endSessionsOf(target.id);
    await em.transactional(async (tx) => {
      // Django deletes these rows itself (its foreign keys do not cascade), guardian's grants too.
      await run(tx, 'DELETE FROM auth_user_groups WHERE user_id = ?', [target.id]);
      await run(tx, 'DELETE FROM auth_user_user_permissions WHERE user_id = ?', [target.id]);
      await run(tx, 'DELETE FROM guardian_userobjectpermission WHERE user_id = ?', [target.id]);
      const adminLog = await selectOne<{ exists: boolean }>(
        tx,
        "SELECT to_regclass('public.django_admin_log') IS NOT NULL AS exists",
      );
      if (adminLog?.exists) await run(tx, 'DELETE FROM django_admin_log WHERE user_id = ?', [target.id]);
      await run(tx, 'DELETE FROM auth_user WHERE id = ?', [target.id]);
    });
    this.deps.permissions.forget();
    await this.deps.core.events.emit('userDeleted', {
      actorId: caller.id,
      userId: target.id,
      username: target.username,
    });
    return true;
  }

  /** `permissions`: names of permissions (`app_label.codename`), with the input each came from, for errors. */
  async createGroup(name: string, permissions: readonly { name: string; field: string }[]): Promise<Group> {
    const { em } = this.deps;
    const caller = await this.caller();
    const trimmed = name.trim();
    const issues: ValidationIssue[] = [];
    if (!trimmed) issues.push({ code: 'required', message: 'The group needs a name.', field: 'name' });
    else if (codePoints(trimmed) > 150)
      issues.push({ code: 'max_length', message: 'Group names have at most 150 characters.', field: 'name' });
    else if ((await em.count(Group, { name: trimmed })) > 0)
      issues.push({ code: 'unique', message: 'A group with that name already exists.', field: 'name' });
    if (issues.length > 0) throw new ValidationError(issues);
    const granted = [];
    for (const permission of permissions) granted.push(await this.permissionNamed(permission.name, permission.field));
    if (!caller.isSuperuser) await this.requireHeld(caller, granted.map(keyOf));
    const group = em.create(Group, { name: trimmed });
    group.permissions.set(granted);
    await em.flush();
    if (granted.length > 0) {
      await this.deps.core.events.emit('groupPermissionsChanged', {
        actorId: caller.id,
        groupId: group.id,
        groupName: group.name,
        added: granted.map(keyOf).sort(),
        removed: [],
      });
    }
    return group;
  }

  async deleteGroup(id: number): Promise<true> {
    const { em, permissions } = this.deps;
    const caller = await this.caller();
    const group = await this.groupOr404(id);
    // Deleting a group takes its rights from its members: not a group holding what the caller does not.
    if ((await heldBeyond(em, caller, { groupId: group.id })).length > 0) throw new NotPermitted();
    const members = await em.transactional(async (tx) => {
      await run(tx, 'DELETE FROM guardian_groupobjectpermission WHERE group_id = ?', [group.id]);
      await run(tx, 'DELETE FROM auth_group_permissions WHERE group_id = ?', [group.id]);
      const left = await selectAll<{ user_id: number }>(
        tx,
        'DELETE FROM auth_user_groups WHERE group_id = ? RETURNING user_id',
        [group.id],
      );
      await run(tx, 'DELETE FROM auth_group WHERE id = ?', [group.id]);
      return left.map((row) => row.user_id).sort((a, b) => a - b);
    });
    permissions.forget();
    // Its members lost what it gave them: each is an event of its own (the log is searched by whom it concerns).
    const removed = group.permissions.getItems().map(keyOf).sort();
    const { events } = this.deps.core;
    if (removed.length > 0) {
      await events.emit('groupPermissionsChanged', {
        actorId: caller.id,
        groupId: group.id,
        groupName: group.name,
        added: [],
        removed,
      });
    }
    for (const userId of members)
      await events.emit('userGroupsChanged', { actorId: caller.id, userId, added: [], removed: [group.name] });
    return true;
  }

  async addUserToGroup(userId: number, groupId: number): Promise<User> {
    const { em } = this.deps;
    const caller = await this.caller();
    const [target, group] = [await this.userOr404(userId), await this.groupOr404(groupId)];
    this.guardSuperuserTarget(caller, target);
    // Membership hands out the group's permissions, and its object-level grants: the caller must hold them all.
    if ((await heldBeyond(em, caller, { groupId: group.id })).length > 0) throw new NotPermitted();
    const joined = await run(
      em,
      'INSERT INTO auth_user_groups (user_id, group_id) VALUES (?, ?) ON CONFLICT (user_id, group_id) DO NOTHING',
      [target.id, group.id],
    );
    // What the rest of the request (and this answer's groups and permissions) reads must include the group.
    this.deps.permissions.forget();
    if (joined > 0) {
      await this.deps.core.events.emit('userGroupsChanged', {
        actorId: caller.id,
        userId: target.id,
        added: [group.name],
        removed: [],
      });
    }
    return target;
  }

  async removeUserFromGroup(userId: number, groupId: number): Promise<User> {
    const { em } = this.deps;
    const caller = await this.caller();
    const [target, group] = [await this.userOr404(userId), await this.groupOr404(groupId)];
    await this.guardTarget(caller, target);
    const left = await run(em, 'DELETE FROM auth_user_groups WHERE user_id = ? AND group_id = ?', [
      target.id,
      group.id,
    ]);
    this.deps.permissions.forget();
    if (left > 0) {
      await this.deps.core.events.emit('userGroupsChanged', {
        actorId: caller.id,
        userId: target.id,
        added: [],
        removed: [group.name],
      });
    }
    return target;
  }

  /**
   * grantPermission and revokePermission: model level, or on one object with `objectId`. `grantee` is checked
   * first; `perm` is the permission's name.
   */
  async changeGrant(action: 'grant' | 'revoke', perm: string, grantee: Grantee, objectId?: string): Promise<boolean> {
    const { em, permissions, objectPermissions } = this.deps;
    const caller = await this.caller();
    const permission = await this.permissionNamed(perm, 'perm');
    const key = keyOf(permission);
    // Which kind of account is changed decides which permission that takes.
    const needed = 'userId' in grantee ? 'auth.change_user' : 'auth.change_group';
    if (!(await permissions.hasPerm(caller, needed))) throw new NotPermitted();
    const target = 'userId' in grantee ? await this.userOr404(grantee.userId) : undefined;
    const group = 'groupId' in grantee ? await this.groupOr404(grantee.groupId) : undefined;
    // Taking rights away is acting on the account: not on one that holds more than the caller (nor on a group that
    // does: its members' rights would go).
    if (target && action === 'revoke') await this.guardTarget(caller, target);
    else if (target) this.guardSuperuserTarget(caller, target);
    if (group && action === 'revoke' && (await heldBeyond(em, caller, { groupId: group.id })).length > 0)
      throw new NotPermitted();
    // Nobody hands out (or takes away) more than they hold themselves: on one object, the permission on the model
    // or on that object (the object of the permission's own model).
    const held =
      objectId === undefined
        ? await permissions.hasPerm(caller, key)
        : (await objectPermissions.permittedKeys(caller, key, undefined, [objectId])).has(objectId);
    if (!held) throw new NotPermitted();
    const found = target ? { userId: target.id } : { groupId: group?.id ?? 0 };
    let changed: boolean;
    if (objectId !== undefined) {
      // A later field of the same operation must see the change, not what was loaded before it.
      objectPermissions.forget();
      changed =
        action === 'grant'
          ? await grantObjectPermission(em, key, found, objectId)
          : await revokeObjectPermission(em, key, found, objectId);
    } else {
      // A later field of the same operation must see the change, not what was loaded before it.
      try {
        changed = await changeModelGrant(action, em, found, permission.id);
      } finally {
        permissions.forget();
      }
    }
    if (changed) {
      const change = {
        actorId: caller.id,
        added: action === 'grant' ? [key] : [],
        removed: action === 'revoke' ? [key] : [],
        ...(objectId === undefined ? {} : { objectId }),
      };
      if (target) await this.deps.core.events.emit('userPermissionsChanged', { ...change, userId: target.id });
      if (group)
        await this.deps.core.events.emit('groupPermissionsChanged', {
          ...change,
          groupId: group.id,
          groupName: group.name,
        });
    }
    // A grant answers true whether or not it was new (granting twice is harmless); a revoke, whether there was one.
    return action === 'grant' ? true : changed;
  }

  /** The logged-in caller (the directives have already refused anyone else). */
  private async caller(): Promise<User> {
    const user = await this.deps.session.user();
    if (!user || !isAuthenticated(user)) throw new NotLoggedIn();
    // The rules above weigh everything the caller is and holds (a superuser acts on superusers, sets anyone's
    // password): a token limited to scopes would take all of that with one scope (auth.change_user). Its changes
    // are refused; what it reads stays within its scopes.
    if (this.deps.session.accessToken?.scopes)
      throw new NotPermitted('An access token limited to scopes cannot change accounts, groups or grants.');
    return user;
  }

  private async userOr404(id: number): Promise<User> {
    const user = await this.deps.em.findOne(User, id);
    if (!user) throw new NotFound('user');
    return user;
  }

  private async groupOr404(id: number): Promise<Group> {
    const group = await this.deps.em.findOne(Group, id, { populate: ['permissions', 'permissions.contentType'] });
    if (!group) throw new NotFound('group');
    return group;
  }

  /** Only a superuser acts on a superuser's account: otherwise changing its e-mail would hand over the account. */
  private guardSuperuserTarget(caller: User, target: User): void {
    if (target.isSuperuser && !caller.isSuperuser) throw new NotPermitted();
  }

  /**
   * Acting on another account (its password, e-mail, username, active flag, groups, permissions, or deleting it)
   * needs all it holds: whoever may set the password of an account that holds more could log in as it and use the
   * rest.
   */
  private async guardTarget(caller: User, target: User): Promise<void> {
    this.guardSuperuserTarget(caller, target);
    if (target.id === caller.id || caller.isSuperuser) return;
    if ((await heldBeyond(this.deps.em, caller, { userId: target.id })).length > 0) {
      throw new NotPermitted(
        'This account holds permissions you do not: only someone who holds all of them may change it.',
      );
    }
  }

  /** The caller must hold each of `perms` (model level): nobody hands out more than they have. */
  private async requireHeld(caller: User, perms: readonly string[]): Promise<void> {
    if (!(await this.deps.permissions.hasPerms(caller, perms))) throw new NotPermitted();
  }

  /** The permission named `app_label.codename`, or a ValidationError naming the field. */
  private async permissionNamed(name: string, field: string): Promise<Permission> {
    const dot = name.indexOf('.');
    const found =
      dot > 0
        ? await this.deps.em.find(
            Permission,
            { codename: name.slice(dot + 1), contentType: { appLabel: name.slice(0, dot) } },
            { populate: ['contentType'], limit: 2 },
          )
        : [];
    const [permission] = found;
    if (!permission) {
      throw new ValidationError([
        { code: 'unknown_permission', message: `${JSON.stringify(name)} is not a known permission.`, field },
      ]);
    }
    // One codename on two models of an app (Django allows it): which one to grant, and on which model's object, is
    // not said. Refused rather than guessed.
    if (found.length > 1) {
      throw new ValidationError([
        {
          code: 'ambiguous_permission',
          message: `${JSON.stringify(name)} names permissions of several models.`,
          field,
        },
      ]);
    }
    return permission;
  }
}

/** Whether anything changed: a grant that was not there, a revoke of one that was. */
async function changeModelGrant(
  action: 'grant' | 'revoke',
  em: EntityManager,
  grantee: Grantee,
  permissionId: number,
): Promise<boolean> {
  const [table, column, granteeId] =
    'userId' in grantee
      ? ['auth_user_user_permissions', 'user_id', grantee.userId]
      : ['auth_group_permissions', 'group_id', grantee.groupId];
  if (action === 'grant') {
    return (
      (await run(em, `INSERT INTO ${table} (${column}, permission_id) VALUES (?, ?) ON CONFLICT DO NOTHING`, [
        granteeId,
        permissionId,
      ])) > 0
    );
  }
  return (
    (await run(em, `DELETE FROM ${table} WHERE ${column} = ? AND permission_id = ?`, [granteeId, permissionId])) > 0
  );
}
