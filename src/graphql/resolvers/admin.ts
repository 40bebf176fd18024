/**
 * The admin API (Django admin's user and group management, schema/admin.graphql). The directives decide who may
 * call each operation (an active staff member with Django's permission); these resolvers add the rules no directive
 * can express, so that nobody raises privileges through an input meant for something else:
 *  - isStaff and isSuperuser are set only by superusers, and only superusers act on a superuser's account;
 *  - nobody changes, re-passwords, deletes or takes rights from an account that holds anything they do not (model
 *    or object level, directly or through groups): setting its password or e-mail would let them log in as it;
 *  - one's own password changes only through changePassword, which asks for the current one;
 *  - nobody grants a permission, creates a group, or adds someone to a group, carrying more than they hold
 *    themselves, object-level grants included.
 * Each mutation is one transaction.
 */
import type { EntityManager } from '@mikro-orm/postgresql';
import { isAuthenticated, type RequestUser } from '../../auth/anonymous.js';
import { ValidationError, type ValidationIssue } from '../../auth/errors.js';
import { heldBeyond } from '../../auth/escalation.js';
import { grantObjectPermission, revokeObjectPermission } from '../../auth/object-permissions.js';
import { validatePassword } from '../../auth/password-validation.js';
import { storedHash } from '../../auth/passwords.js';
import { normalizeEmail, normalizeUsername, validateEmailLength, validateUsername } from '../../auth/users.js';
import { codePoints } from '../../auth/text.js';
import { run, selectOne } from '../../db/sql.js';
import { Group } from '../../entities/group.js';
import { Permission } from '../../entities/permission.js';
import { User } from '../../entities/user.js';
import type { GraphQLContext } from '../context.js';
import { badUserInput, forbidden, notFound, passwordChangedMeanwhile, unauthenticated } from '../errors.js';
import type { Resolvers } from '../generated/resolvers.js';
import { idOf } from '../ids.js';

const MAX_PAGE = 200;

/** An input field that was given (not omitted, not null): "change this". */
function given<T>(value: T | null | undefined): value is T {
  return value !== null && value !== undefined;
}
/** Loose on purpose: a mail server is the only real judge; this refuses what cannot be an address at all. */
const EMAIL = /^[^@\s]+@[^@\s]+$/;

/** The logged-in caller (the directives have already refused anyone else). */
async function callerOf({ auth }: GraphQLContext): Promise<User> {
  const user: RequestUser = await auth.requestUser();
  if (!isAuthenticated(user)) throw unauthenticated();
  return user;
}

async function userOr404(em: EntityManager, id: string, field = 'id'): Promise<User> {
  const user = await em.findOne(User, idOf(id, field));
  if (!user) throw notFound('user');
  return user;
}

async function groupOr404(em: EntityManager, id: string, field = 'id'): Promise<Group> {
  const group = await em.findOne(Group, idOf(id, field), { populate: ['permissions', 'permissions.contentType'] });
  if (!group) throw notFound('group');
  return group;
}

/** Only a superuser acts on a superuser's account: otherwise changing its e-mail would hand over the account. */
function guardSuperuserTarget(caller: User, target: User): void {
  if (target.isSuperuser && !caller.isSuperuser) throw forbidden();
}

/**
 * Acting on another account (its password, e-mail, username, active flag, groups, permissions, or deleting it) needs
 * all it holds: whoever may set the password of an account that holds more could log in as it and use the rest.
 */
async function guardTarget({ em }: GraphQLContext, caller: User, target: User): Promise<void> {
  guardSuperuserTarget(caller, target);
  if (target.id === caller.id || caller.isSuperuser) return;
  if ((await heldBeyond(em, caller, { userId: target.id })).length > 0) {
    throw forbidden('This account holds permissions you do not: only someone who holds all of them may change it.');
  }
}

const keyOf = (permission: Permission) => `${permission.contentType.appLabel}.${permission.codename}`;

/** The permission named `app_label.codename`, or BAD_USER_INPUT naming the field. */
async function permissionNamed(em: EntityManager, name: string, field: string): Promise<Permission> {
  const dot = name.indexOf('.');
  const found =
    dot > 0
      ? await em.find(
          Permission,
          { codename: name.slice(dot + 1), contentType: { appLabel: name.slice(0, dot) } },
          { populate: ['contentType'], limit: 2 },
        )
      : [];
  const [permission] = found;
  if (!permission) {
    throw badUserInput([
      { code: 'unknown_permission', message: `${JSON.stringify(name)} is not a known permission.`, field },
    ]);
  }
  // One codename on two models of an app (Django allows it): which one to grant, and on which model's object, is
  // not said. Refused rather than guessed.
  if (found.length > 1) {
    throw badUserInput([
      {
        code: 'ambiguous_permission',
        message: `${JSON.stringify(name)} names permissions of several models.`,
        field,
      },
    ]);
  }
  return permission;
}

/** The caller must hold each of `perms` (model level): nobody hands out more than they have. */
async function requireHeld(context: GraphQLContext, caller: User, perms: readonly string[]): Promise<void> {
  if (!(await context.permissions.hasPerms(caller, perms))) throw forbidden();
}

function emailIssues(email: string | null | undefined): ValidationIssue[] {
  return email && !EMAIL.test(email.trim())
    ? [{ code: 'invalid', message: 'Enter a valid email address.', field: 'email' }]
    : [];
}

function nameIssues(value: string | null | undefined, field: 'firstName' | 'lastName'): ValidationIssue[] {
  return value && codePoints(value) > 150
    ? [{ code: 'max_length', message: `${field} has more than 150 characters.`, field }]
    : [];
}

export const adminResolvers: Resolvers = {
  Query: {
    user: (_parent, { id }, { em }) => em.findOne(User, idOf(id, 'id')),
    async users(_parent, { search, first, after }, { em }) {
      // `first: null` written out arrives as null, whatever the default says.
      const size = (first as number | null) ?? 50;
      if (size < 1 || size > MAX_PAGE) {
        throw badUserInput([{ code: 'invalid', message: `first must be between 1 and ${MAX_PAGE}.`, field: 'first' }]);
      }
      const afterId = after ? idOf(Buffer.from(after, 'base64url').toString('utf8'), 'after') : 0;
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
      const edges = page.slice(0, size).map((node) => ({
        node,
        cursor: Buffer.from(String(node.id), 'utf8').toString('base64url'),
      }));
      return {
        totalCount,
        edges,
        pageInfo: { hasNextPage: page.length > size, endCursor: edges.at(-1)?.cursor ?? null },
      };
    },
    groups: (_parent, _args, { em }) =>
      em.find(Group, {}, { orderBy: { name: 'asc' }, populate: ['permissions', 'permissions.contentType'] }),
    permissions: (_parent, _args, { em }) =>
      em.find(
        Permission,
        {},
        { populate: ['contentType'], orderBy: { contentType: { appLabel: 'asc', model: 'asc' }, codename: 'asc' } },
      ),
  },
  Mutation: {
    async createUser(_parent, { input }, context) {
      const { em, authCore, config } = context;
      const caller = await callerOf(context);
      if ((input.isStaff || input.isSuperuser) && !caller.isSuperuser) throw forbidden();
      const issues = [
        ...emailIssues(input.email),
        ...nameIssues(input.firstName, 'firstName'),
        ...nameIssues(input.lastName, 'lastName'),
        ...(input.password
          ? validatePassword(input.password, config.passwords, input).map((issue) => ({ ...issue, field: 'password' }))
          : []),
      ];
      try {
        if (issues.length > 0) throw new ValidationError(issues);
        return await authCore.users.createUser(em, {
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
        throw badUserInput([...usernameIssues, ...error.issues]);
      }
    },
    async updateUser(_parent, { id, input }, context) {
      const { em } = context;
      const caller = await callerOf(context);
      const target = await userOr404(em, id);
      await guardTarget(context, caller, target);
      if ((given(input.isStaff) || given(input.isSuperuser)) && !caller.isSuperuser) throw forbidden();
      // One's own e-mail decides where one's password reset goes: changing it from a session (perhaps someone else's
      // at an unlocked desk) would lead to setting the password without the current one, as setUserPassword on
      // oneself would. Another administrator changes it. (A superuser may: its session can do anything already.)
      const ownAccess = given(input.email) || given(input.username) || given(input.isActive);
      if (target.id === caller.id && !caller.isSuperuser && ownAccess)
        throw forbidden('Your own e-mail, username and active flag are changed by another administrator.');
      const issues = [
        ...emailIssues(input.email),
        ...nameIssues(input.firstName, 'firstName'),
        ...nameIssues(input.lastName, 'lastName'),
      ];
      const username = given(input.username) ? normalizeUsername(input.username) : undefined;
      const email = given(input.email) ? normalizeEmail(input.email) : undefined;
      // Checked as stored: normalized, an address within its bound can outgrow its column (a 500 otherwise).
      if (email !== undefined) issues.push(...validateEmailLength(email));
      if (username !== undefined) {
        issues.push(...validateUsername(username));
        if (issues.length === 0 && username !== target.username && (await em.count(User, { username })) > 0) {
          issues.push({ code: 'unique', message: 'A user with that username already exists.', field: 'username' });
        }
      }
      if (issues.length > 0) throw badUserInput(issues);
      if (username !== undefined) target.username = username;
      if (email !== undefined) target.email = email;
      if (given(input.firstName)) target.firstName = input.firstName;
      if (given(input.lastName)) target.lastName = input.lastName;
      if (given(input.isActive)) target.isActive = input.isActive;
      if (given(input.isStaff)) target.isStaff = input.isStaff;
      if (given(input.isSuperuser)) target.isSuperuser = input.isSuperuser;
      await em.flush();
      // isActive and isSuperuser decide what a user holds: the rest of the request reads it again.
      context.permissions.forget();
      return target;
    },
    async setUserPassword(_parent, { id, password }, context) {
      const { em, authCore, config, auth } = context;
      const caller = await callerOf(context);
      const target = await userOr404(em, id);
      // The password as the admin found it, read first: a change or a reset that wins meanwhile is not overwritten.
      const stored = (await storedHash(em, target.id)) ?? '';
      // One's own password changes with the current one (changePassword): a session left open is not a password.
      if (target.id === caller.id)
        throw forbidden('Change your own password with changePassword, which asks for the current one.');
      await guardTarget(context, caller, target);
      const issues = validatePassword(password, config.passwords, target);
      if (issues.length > 0) throw badUserInput(issues.map((issue) => ({ ...issue, field: 'password' })));
      // Their sessions end first: whoever was using them may be why the password is being set, and one of them
      // changing the password in a loop must not keep the admin's change losing the race below.
      await auth.endSessionsOf(target.id);
      const hash = await authCore.hashers.make(password);
      if (!(await authCore.passwords.replaceStored(em, target.id, stored, hash))) throw passwordChangedMeanwhile();
      return true;
    },
    async deleteUser(_parent, { id }, context) {
      const { em, auth } = context;
      const caller = await callerOf(context);
      const target = await userOr404(em, id);
      await guardTarget(context, caller, target);
      await auth.endSessionsOf(target.id);
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
      context.permissions.forget();
      return true;
    },
    async createGroup(_parent, { name, permissions }, context) {
      const { em } = context;
      const caller = await callerOf(context);
      const trimmed = name.trim();
      const issues: ValidationIssue[] = [];
      if (!trimmed) issues.push({ code: 'required', message: 'The group needs a name.', field: 'name' });
      else if (codePoints(trimmed) > 150)
        issues.push({ code: 'max_length', message: 'Group names have at most 150 characters.', field: 'name' });
      else if ((await em.count(Group, { name: trimmed })) > 0)
        issues.push({ code: 'unique', message: 'A group with that name already exists.', field: 'name' });
      if (issues.length > 0) throw badUserInput(issues);
      const granted = [];
      for (const [index, perm] of (permissions ?? []).entries())
        granted.push(await permissionNamed(em, perm, `permissions[${index}]`));
      if (!caller.isSuperuser) await requireHeld(context, caller, granted.map(keyOf));
      const group = em.create(Group, { name: trimmed });
      group.permissions.set(granted);
      await em.flush();
      return group;
    },
    async deleteGroup(_parent, { id }, context) {
      const { em, permissions } = context;
      const caller = await callerOf(context);
      const group = await groupOr404(em, id);
      // Deleting a group takes its rights from its members: not a group holding what the caller does not.
      if ((await heldBeyond(em, caller, { groupId: group.id })).length > 0) throw forbidden();
      await em.transactional(async (tx) => {
        await run(tx, 'DELETE FROM guardian_groupobjectpermission WHERE group_id = ?', [group.id]);
        await run(tx, 'DELETE FROM auth_group_permissions WHERE group_id = ?', [group.id]);
        await run(tx, 'DELETE FROM auth_user_groups WHERE group_id = ?', [group.id]);
        await run(tx, 'DELETE FROM auth_group WHERE id = ?', [group.id]);
      });
      permissions.forget();
      return true;
    },
    async addUserToGroup(_parent, { userId, groupId }, context) {
      const { em } = context;
      const caller = await callerOf(context);
      const [target, group] = [await userOr404(em, userId, 'userId'), await groupOr404(em, groupId, 'groupId')];
      guardSuperuserTarget(caller, target);
      // Membership hands out the group's permissions, and its object-level grants: the caller must hold them all.
      if ((await heldBeyond(em, caller, { groupId: group.id })).length > 0) throw forbidden();
      await run(
        em,
        'INSERT INTO auth_user_groups (user_id, group_id) VALUES (?, ?) ON CONFLICT (user_id, group_id) DO NOTHING',
        [target.id, group.id],
      );
      // What the rest of the request (and this answer's groups and permissions) reads must include the group.
      context.permissions.forget();
      return target;
    },
    async removeUserFromGroup(_parent, { userId, groupId }, context) {
      const { em } = context;
      const caller = await callerOf(context);
      const [target, group] = [await userOr404(em, userId, 'userId'), await groupOr404(em, groupId, 'groupId')];
      await guardTarget(context, caller, target);
      await run(em, 'DELETE FROM auth_user_groups WHERE user_id = ? AND group_id = ?', [target.id, group.id]);
      context.permissions.forget();
      return target;
    },
    grantPermission: (_parent, args, context) => changeGrant('grant', args, context),
    revokePermission: (_parent, args, context) => changeGrant('revoke', args, context),
  },
  Group: {
    permissions: async (group, _args, { em }) => {
      if (!group.permissions.isInitialized()) await em.populate(group, ['permissions', 'permissions.contentType']);
      return group.permissions.getItems().map(keyOf).sort();
    },
    users: (group, _args, { em }) => em.find(User, { groups: group.id }, { orderBy: { username: 'asc' } }),
  },
  Permission: {
    id: (permission) => String(permission.id),
    appLabel: (permission) => permission.contentType.appLabel,
    key: keyOf,
  },
};

/**
 * guardian's object_pk is a varchar(255): a longer or blank key names no object, and neither does one with spaces
 * around it or control characters in it (a grant on " 1" would be a grant on nothing, kept forever).
 */
function objectIdOf(value: string): string {
  if (value.length === 0 || value.length > 255 || value.trim() !== value || /\p{Cc}/u.test(value)) {
    throw badUserInput([{ code: 'invalid_id', message: 'objectId is not the id of anything.', field: 'objectId' }]);
  }
  return value;
}

interface GrantArgs {
  perm: string;
  userId?: string | null;
  groupId?: string | null;
  objectId?: string | null;
}

/** grantPermission and revokePermission: model level, or on one object with objectId. */
async function changeGrant(action: 'grant' | 'revoke', args: GrantArgs, context: GraphQLContext): Promise<boolean> {
  const { em, permissions } = context;
  const caller = await callerOf(context);
  if (!given(args.userId) === !given(args.groupId)) {
    throw badUserInput([{ code: 'invalid', message: 'Give exactly one of userId and groupId.', field: 'userId' }]);
  }
  const permission = await permissionNamed(em, args.perm, 'perm');
  const key = keyOf(permission);
  // Which kind of account is changed decides which permission that takes.
  const needed = given(args.userId) ? 'auth.change_user' : 'auth.change_group';
  if (!(await permissions.hasPerm(caller, needed))) throw forbidden();
  const objectId = given(args.objectId) ? objectIdOf(args.objectId) : undefined;
  const target = given(args.userId) ? await userOr404(em, args.userId, 'userId') : undefined;
  const group = given(args.groupId) ? await groupOr404(em, args.groupId, 'groupId') : undefined;
  // Taking rights away is acting on the account: not on one that holds more than the caller (nor on a group that
  // does: its members' rights would go).
  if (target && action === 'revoke') await guardTarget(context, caller, target);
  else if (target) guardSuperuserTarget(caller, target);
  if (group && action === 'revoke' && (await heldBeyond(em, caller, { groupId: group.id })).length > 0)
    throw forbidden();
  // Nobody hands out (or takes away) more than they hold themselves: on one object, the permission on the model
  // or on that object (the object of the permission's own model).
  const held =
    objectId === undefined
      ? await permissions.hasPerm(caller, key)
      : (await context.objectPermissions.permittedKeys(caller, key, undefined, [objectId])).has(objectId);
  if (!held) throw forbidden();
  const grantee = target ? { userId: target.id } : { groupId: group?.id ?? 0 };
  if (objectId !== undefined) {
    // A later field of the same operation must see the change, not what was loaded before it.
    context.objectPermissions.forget();
    if (action === 'grant') await grantObjectPermission(em, key, grantee, objectId);
    return action === 'grant' ? true : revokeObjectPermission(em, key, grantee, objectId);
  }
  // A later field of the same operation must see the change, not what was loaded before it.
  try {
    return await changeModelGrant(action, em, target, group, permission.id);
  } finally {
    permissions.forget();
  }
}

async function changeModelGrant(
  action: 'grant' | 'revoke',
  em: GraphQLContext['em'],
  target: User | undefined,
  group: Group | undefined,
  permissionId: number,
): Promise<boolean> {
  const [table, column] = target ? ['auth_user_user_permissions', 'user_id'] : ['auth_group_permissions', 'group_id'];
  const granteeId = target ? target.id : (group?.id ?? 0);
  if (action === 'grant') {
    await run(em, `INSERT INTO ${table} (${column}, permission_id) VALUES (?, ?) ON CONFLICT DO NOTHING`, [
      granteeId,
      permissionId,
    ]);
    return true;
  }
  return (
    (await run(em, `DELETE FROM ${table} WHERE ${column} = ? AND permission_id = ?`, [granteeId, permissionId])) > 0
  );
}
