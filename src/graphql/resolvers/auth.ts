/** The account API (schema/auth.graphql): each operation is one call of the account use-cases (src/services). */
import { Accounts } from '../../services/accounts.js';
import { Sessions } from '../../services/sessions.js';
import type { GraphQLContext } from '../context.js';
import type { Resolvers } from '../generated/resolvers.js';

/** The account use-cases over this request's session, database and counters. */
function accounts({ em, authCore, config, logger, lockout, mailer, auth }: GraphQLContext): Accounts {
  return new Accounts({ em, core: authCore, config, logger, lockout, mailer, session: auth });
}

/** The session use-cases over this request's session. */
export function sessions({ em, authCore, permissions, auth }: GraphQLContext): Sessions {
  return new Sessions({ em, events: authCore.events, permissions, session: auth });
}

export const authResolvers: Resolvers = {
  Query: {
    me: (_parent, _args, { auth }) => auth.user(),
    mySessions: (_parent, _args, context) => sessions(context).mine(),
  },
  Mutation: {
    async login(_parent, { username, password }, context) {
      const { clientIp: ip, deviceCookie } = context;
      const done = await accounts(context).login(username, password, { ip, deviceCookie: deviceCookie.read() });
      if (done.deviceCookie) deviceCookie.write(done.deviceCookie);
      return done.user;
    },
    logout: (_parent, _args, context) => accounts(context).logout(),
    changePassword: (_parent, { oldPassword, newPassword }, context) =>
      accounts(context).changePassword(oldPassword, newPassword, { ip: context.clientIp }),
    register: (_parent, { input }, context) => accounts(context).register(input, { ip: context.clientIp }),
    async requestPasswordReset(_parent, { email }, context) {
      await accounts(context).requestPasswordReset(email, { ip: context.clientIp });
      // The same answer whether or not the address has an account (no account enumeration).
      return true;
    },
    async resetPassword(_parent, { uid, token, newPassword }, context) {
      const done = await accounts(context).resetPassword(uid, token, newPassword, { ip: context.clientIp });
      if (done.deviceCookie) context.deviceCookie.write(done.deviceCookie);
      return true;
    },
    logoutOtherSessions: (_parent, _args, context) => accounts(context).logoutOtherSessions(),
    endSession: (_parent, { id }, context) => sessions(context).end(id),
  },
  User: {
    id: (user) => String(user.id),
    // With the permissions, in one query (unless already loaded with the user): `me` costs one statement less.
    groups: (user, _args, { permissions }) =>
      user.groups.isInitialized() ? user.groups.getItems() : permissions.getGroups(user),
    permissions: async (user, _args, { permissions }) => [...(await permissions.getAllPermissions(user))].sort(),
    // Only on the user this request acts as: any other user (in the admin's lists, say) is nobody's impersonation.
    async impersonatedBy(user, _args, { auth }) {
      if ((await auth.user())?.id !== user.id) return null;
      const real = await auth.impersonator();
      return real ? { id: String(real.id), username: real.username } : null;
    },
  },
  Group: {
    id: (group) => String(group.id),
  },
};
