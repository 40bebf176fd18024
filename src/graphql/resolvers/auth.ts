import { GraphQLError } from 'graphql';
import { ValidationError } from '../../auth/errors.js';
import { validatePassword } from '../../auth/password-validation.js';
import { normalizeUsername, validateUsername } from '../../auth/users.js';
import { User } from '../../entities/user.js';
import { SessionStoreError } from '../../http/request-auth.js';
import { ErrorCode, badUserInput, serviceUnavailable, unauthenticated } from '../errors.js';
import type { Logger } from '../../logger.js';
import type { Resolvers } from '../generated/resolvers.js';

/** Runs `work`; a session store failure is logged and becomes SERVICE_UNAVAILABLE. */
async function withSessionStore<T>(logger: Logger, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (!(error instanceof SessionStoreError)) throw error;
    logger.error({ err: error.cause }, 'the session store failed');
    throw serviceUnavailable();
  }
}

export const authResolvers: Resolvers = {
  Query: {
    me: (_parent, _args, { auth }) => auth.user(),
  },
  Mutation: {
    async login(_parent, { username, password }, { auth, logger }) {
      const user = await withSessionStore(logger, () => auth.login({ username, password }));
      // One answer for every kind of failure: which one it was is for the log, never for the client.
      if (!user) {
        throw new GraphQLError('Please enter a correct username and password.', {
          extensions: { code: ErrorCode.INVALID_CREDENTIALS },
        });
      }
      return user;
    },
    logout: (_parent, _args, { auth, logger }) => withSessionStore(logger, () => auth.logout()),
    async changePassword(_parent, { oldPassword, newPassword }, { auth, authCore, em, logger, config }) {
      const user = await auth.user();
      if (!user) throw unauthenticated();
      if (!(await authCore.passwords.checkPassword(em, user, oldPassword))) {
        throw badUserInput([
          { code: 'password_incorrect', message: 'Your old password was entered incorrectly.', field: 'oldPassword' },
        ]);
      }
      const issues = validatePassword(newPassword, config.passwords, user);
      if (issues.length > 0) throw badUserInput(issues.map((issue) => ({ ...issue, field: 'newPassword' })));
      await em.nativeUpdate(User, { id: user.id }, { password: await authCore.hashers.make(newPassword) });
      await withSessionStore(logger, () => auth.keepSessionAfterPasswordChange(user));
      return true;
    },
    async register(_parent, { input }, { auth, authCore, em, logger, config }) {
      if (!config.registrationOpen) {
        throw new GraphQLError('Registration is closed.', { extensions: { code: ErrorCode.REGISTRATION_CLOSED } });
      }
      const { username, email, password, firstName, lastName } = input;
      const passwordIssues = validatePassword(password, config.passwords, { username, email, firstName, lastName });
      let user;
      try {
        if (passwordIssues.length > 0) throw new ValidationError(passwordIssues);
        user = await authCore.users.createUser(em, {
          username,
          email,
          password,
          firstName: firstName ?? '',
          lastName: lastName ?? '',
        });
      } catch (error) {
        if (!(error instanceof ValidationError)) throw error;
        // Username problems are checked too when the password is refused, so every failed rule is listed at once.
        const usernameIssues = passwordIssues.length > 0 ? validateUsername(normalizeUsername(username)) : [];
        throw badUserInput([...usernameIssues, ...error.issues]);
      }
      // Logged in through the first configured backend, the one that will be asked for the user later.
      await withSessionStore(logger, () => auth.loginAs(user, authCore.backends[0]?.name ?? 'model'));
      return user;
    },
    async logoutOtherSessions(_parent, _args, { auth }) {
      const user = await auth.user();
      if (!user) throw unauthenticated();
      return auth.logoutOtherSessions(user);
    },
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
