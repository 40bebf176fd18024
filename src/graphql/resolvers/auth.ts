import { GraphQLError } from 'graphql';
import { SessionStoreError } from '../../http/request-auth.js';
import { ErrorCode } from '../errors.js';
import type { Resolvers } from '../generated/resolvers.js';

export const authResolvers: Resolvers = {
  Query: {
    me: (_parent, _args, { auth }) => auth.user(),
  },
  Mutation: {
    async login(_parent, { username, password }, { auth }) {
      let user;
      try {
        user = await auth.login({ username, password });
      } catch (error) {
        if (error instanceof SessionStoreError) {
          throw new GraphQLError('Logging in is unavailable right now; try again shortly.', {
            extensions: { code: ErrorCode.SERVICE_UNAVAILABLE },
          });
        }
        throw error;
      }
      // One answer for every kind of failure: which one it was is for the log, never for the client.
      if (!user) {
        throw new GraphQLError('Please enter a correct username and password.', {
          extensions: { code: ErrorCode.INVALID_CREDENTIALS },
        });
      }
      return user;
    },
    logout: (_parent, _args, { auth }) => auth.logout(),
  },
  User: {
    id: (user) => String(user.id),
    groups: async (user, _args, { em }) => {
      await em.populate(user, ['groups']);
      return user.groups.getItems();
    },
    permissions: async (user, _args, { permissions }) => [...(await permissions.getAllPermissions(user))].sort(),
  },
  Group: {
    id: (group) => String(group.id),
  },
};
