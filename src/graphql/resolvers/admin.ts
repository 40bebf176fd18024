/**
 * The admin API (schema/admin.graphql): the directives decide who may call each operation; the rules that stop
 * privilege escalation, and the work, are the admin use-cases' (src/services/admin.ts). Here ids are read.
 */
import { Admin, permissionKey } from '../../services/admin.js';
import type { GraphQLContext } from '../context.js';
import { badUserInput } from '../errors.js';
import type { Resolvers } from '../generated/resolvers.js';
import { idOf } from '../ids.js';
import { User } from '../../entities/user.js';
import { sessions } from './auth.js';

const MAX_PAGE = 200;

/** An argument that was given (not omitted, not null). */
function given<T>(value: T | null | undefined): value is T {
  return value !== null && value !== undefined;
}

function admin({ em, authCore, config, permissions, objectPermissions, auth }: GraphQLContext): Admin {
  return new Admin({ em, core: authCore, config, permissions, objectPermissions, session: auth });
}

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

/** grantPermission and revokePermission: exactly one of userId and groupId, and perhaps an object. */
function changeGrant(action: 'grant' | 'revoke', args: GrantArgs, context: GraphQLContext): Promise<boolean> {
  if (!given(args.userId) === !given(args.groupId)) {
    throw badUserInput([{ code: 'invalid', message: 'Give exactly one of userId and groupId.', field: 'userId' }]);
  }
  const grantee = given(args.userId)
    ? { userId: idOf(args.userId, 'userId') }
    : { groupId: idOf(args.groupId ?? '', 'groupId') };
  const objectId = given(args.objectId) ? objectIdOf(args.objectId) : undefined;
  return admin(context).changeGrant(action, args.perm, grantee, objectId);
}

export const adminResolvers: Resolvers = {
  Query: {
    user: (_parent, { id }, context) => admin(context).user(idOf(id, 'id')),
    async users(_parent, { search, first, after }, context) {
      // `first: null` written out arrives as null, whatever the default says.
      const size = (first as number | null) ?? 50;
      if (size < 1 || size > MAX_PAGE) {
        throw badUserInput([{ code: 'invalid', message: `first must be between 1 and ${MAX_PAGE}.`, field: 'first' }]);
      }
      const afterId = after ? idOf(Buffer.from(after, 'base64url').toString('utf8'), 'after') : 0;
      const page = await admin(context).users(search, size, afterId);
      const edges = page.items.map((node) => ({
        node,
        cursor: Buffer.from(String(node.id), 'utf8').toString('base64url'),
      }));
      return {
        totalCount: page.totalCount,
        edges,
        pageInfo: { hasNextPage: page.hasNextPage, endCursor: edges.at(-1)?.cursor ?? null },
      };
    },
    groups: (_parent, _args, context) => admin(context).groups(),
    permissions: (_parent, _args, context) => admin(context).permissions(),
    userSessions: (_parent, { userId }, context) => sessions(context).ofUser(idOf(userId, 'userId')),
  },
  Mutation: {
    createUser: (_parent, { input }, context) => admin(context).createUser(input),
    updateUser: (_parent, { id, input }, context) => admin(context).updateUser(idOf(id, 'id'), input),
    setUserPassword: (_parent, { id, password }, context) => admin(context).setUserPassword(idOf(id, 'id'), password),
    deleteUser: (_parent, { id }, context) => admin(context).deleteUser(idOf(id, 'id')),
    createGroup: (_parent, { name, permissions }, context) =>
      admin(context).createGroup(
        name,
        (permissions ?? []).map((perm, index) => ({ name: perm, field: `permissions[${index}]` })),
      ),
    deleteGroup: (_parent, { id }, context) => admin(context).deleteGroup(idOf(id, 'id')),
    addUserToGroup: (_parent, { userId, groupId }, context) =>
      admin(context).addUserToGroup(idOf(userId, 'userId'), idOf(groupId, 'groupId')),
    removeUserFromGroup: (_parent, { userId, groupId }, context) =>
      admin(context).removeUserFromGroup(idOf(userId, 'userId'), idOf(groupId, 'groupId')),
    grantPermission: (_parent, args, context) => changeGrant('grant', args, context),
    revokePermission: (_parent, args, context) => changeGrant('revoke', args, context),
    endUserSession: (_parent, { userId, id }, context) => sessions(context).endOfUser(idOf(userId, 'userId'), id),
    impersonate: (_parent, { userId }, context) => sessions(context).impersonate(idOf(userId, 'userId')),
    stopImpersonating: (_parent, _args, context) => sessions(context).stopImpersonating(),
  },
  Group: {
    permissions: async (group, _args, { em }) => {
      if (!group.permissions.isInitialized()) await em.populate(group, ['permissions', 'permissions.contentType']);
      return group.permissions.getItems().map(permissionKey).sort();
    },
    users: (group, _args, { em }) => em.find(User, { groups: group.id }, { orderBy: { username: 'asc' } }),
  },
  Permission: {
    id: (permission) => String(permission.id),
    appLabel: (permission) => permission.contentType.appLabel,
    key: permissionKey,
  },
};
