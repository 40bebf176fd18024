import { GraphQLError } from 'graphql';
import { ValidationError } from '../../auth/errors.js';
import { validatePassword } from '../../auth/password-validation.js';
import { codePoints } from '../../auth/text.js';
import { EMAIL_MAX_LENGTH, normalizeUsername, validateUsername } from '../../auth/users.js';
import { SessionStoreError } from '../../auth/request-auth.js';
import { encodeUid, type ResetUser } from '../../auth/index.js';
import {
  ErrorCode,
  badUserInput,
  invalidToken,
  passwordChangedMeanwhile,
  serviceUnavailable,
  tooManyAttempts,
  unauthenticated,
} from '../errors.js';
import { LockoutStoreError, type Attempt, type AttemptSource, type GuardedAction } from '../../auth/lockout.js';
import type { GraphQLContext } from '../context.js';
import type { Config } from '../../config/index.js';
import type { Logger } from '../../logger.js';
import type { MutationRegisterArgs, Resolvers } from '../generated/resolvers.js';
import type { User } from '../../entities/user.js';

/** Runs `work`; a failure of the session store or of the lockout counters is logged and becomes SERVICE_UNAVAILABLE. */
async function withStores<T>(logger: Logger, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (error instanceof SessionStoreError) logger.error({ err: error.cause }, 'the session store failed');
    else if (error instanceof LockoutStoreError) logger.error({ err: error.cause }, 'the lockout counters failed');
    else throw error;
    throw serviceUnavailable();
  }
}

/**
 * Admits an attempt at `action`, its places in the lockout's counts taken; refuses it while `source` is locked out
 * (or its address has spent its checks): before any password is hashed or token checked, so that a refused attempt
 * costs nothing and tells nothing, even with the right password.
 */
async function admit(
  { lockout, logger }: Pick<GraphQLContext, 'lockout' | 'logger'>,
  action: GuardedAction,
  source: AttemptSource,
): Promise<Attempt> {
  const admission = await withStores(logger, () => lockout.begin(action, source));
  if (admission.admitted) return admission.attempt;
  const { retryAfterSeconds } = admission;
  logger.debug({ action, credentials: { username: source.username }, retryAfterSeconds }, `${action} refused: locked`);
  throw tooManyAttempts(retryAfterSeconds);
}

/** A failed attempt: counted (a store failure answers SERVICE_UNAVAILABLE, as the refusal it would have become). */
function failed({ logger }: Pick<GraphQLContext, 'logger'>, attempt: Attempt): Promise<void> {
  return withStores(logger, () => attempt.failed());
}

/**
 * A successful attempt: its place given back, the count started again. Best effort: the action has happened (a
 * session started, a password set), and a count left behind only shortens the next lockout's way.
 */
async function succeeded(
  { logger }: Pick<GraphQLContext, 'logger'>,
  action: GuardedAction | 'register',
  attempt: Attempt,
): Promise<void> {
  await attempt.succeeded().catch((error: unknown) => {
    logger.error({ err: error, action }, 'the lockout counters failed (a success was not recorded)');
  });
}

/**
 * Runs `check` as an admitted attempt at `action`. One that ends in an error before it said how it ended (the
 * database or the session store failed) is abandoned: its places are given back, so that a failure of ours neither
 * counts as a guess nor holds the address's place until its window ends.
 */
async function attempting<T>(
  context: Pick<GraphQLContext, 'lockout' | 'logger'>,
  action: GuardedAction,
  source: AttemptSource,
  check: (attempt: Attempt) => Promise<T>,
): Promise<T> {
  const attempt = await admit(context, action, source);
  try {
    return await check(attempt);
  } finally {
    await attempt.abandoned().catch((error: unknown) => {
      context.logger.error({ err: error, action }, 'the lockout counters failed (an attempt was not given back)');
    });
  }
}

/** Creates the account (every failed rule listed at once) and logs it in. */
async function registerAs(
  input: MutationRegisterArgs['input'],
  { auth, authCore, em, logger, config }: Pick<GraphQLContext, 'auth' | 'authCore' | 'em' | 'logger' | 'config'>,
): Promise<User> {
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
  await withStores(logger, () => auth.loginAs(user, authCore.backends[0]?.name ?? 'model'));
  return user;
}

/** Loose on purpose (the mail server is the judge): refuses what cannot be an address at all. */
const EMAIL = /^[^@\s]+@[^@\s]+$/;

/** "3 days", "5 hours", "1 minute": the largest whole unit that fits. */
function duration(seconds: number): string {
  const [count, unit] =
    seconds >= 86_400
      ? [Math.floor(seconds / 86_400), 'day']
      : seconds >= 3600
        ? [Math.floor(seconds / 3600), 'hour']
        : [Math.floor(seconds / 60), 'minute'];
  return `${count} ${unit}${count === 1 ? '' : 's'}`;
}

/** Django's password_reset_email.html and password_reset_subject.txt, with the link PASSWORD_RESET_URL makes. */
function resetMessage(user: ResetUser, link: string, config: Config): { subject: string; text: string } {
  const site = new URL(link).host;
  return {
    subject: `Password reset on ${site}`,
    text: [
      `You're receiving this email because you requested a password reset for your user account at ${site}.`,
      '',
      'Please go to the following page and choose a new password:',
      '',
      link,
      '',
      `Your username, in case you've forgotten: ${user.username}`,
      '',
      `The link works once, for ${duration(config.passwordReset.timeoutSeconds)} at most.`,
      '',
      'Thanks for using our site!',
      '',
      `The ${site} team`,
      '',
    ].join('\n'),
  };
}

export const authResolvers: Resolvers = {
  Query: {
    me: (_parent, _args, { auth }) => auth.user(),
  },
  Mutation: {
    async login(_parent, { username, password }, context) {
      const { auth, logger, lockout, clientIp, deviceCookie } = context;
      const source = { username, ip: clientIp, deviceCookie: deviceCookie.read() };
      return attempting(context, 'login', source, async (attempt) => {
        const user = await withStores(logger, () => auth.login({ username, password }));
        // One answer for every kind of failure: which one it was is for the log, never for the client.
        if (!user) {
          await failed(context, attempt);
          throw new GraphQLError('Please enter a correct username and password.', {
            extensions: { code: ErrorCode.INVALID_CREDENTIALS },
          });
        }
        await succeeded(context, 'login', attempt);
        // This browser now knows the account: its next attempts are counted apart from strangers' (OWASP).
        const device = lockout.deviceCookie(username);
        if (device) deviceCookie.write(device);
        return user;
      });
    },
    logout: (_parent, _args, { auth, logger }) => withStores(logger, () => auth.logout()),
    async changePassword(_parent, { oldPassword, newPassword }, context) {
      const { auth, authCore, em, logger, config, clientIp } = context;
      const user = await auth.user();
      if (!user) throw unauthenticated();
      // A stolen session must not become a password oracle: wrong old passwords count as failed logins do.
      const source = { username: user.username, ip: clientIp };
      const stored = await attempting(context, 'change_password', source, async (attempt) => {
        const checked = await authCore.passwords.checkForChange(em, user.id, oldPassword);
        if (checked === undefined) {
          await failed(context, attempt);
          throw badUserInput([
            { code: 'password_incorrect', message: 'Your old password was entered incorrectly.', field: 'oldPassword' },
          ]);
        }
        // The old password was right: what is guessed was not guessed, whatever becomes of the new one.
        await succeeded(context, 'change_password', attempt);
        return checked;
      });
      const issues = validatePassword(newPassword, config.passwords, user);
      if (issues.length > 0) throw badUserInput(issues.map((issue) => ({ ...issue, field: 'newPassword' })));
      // Only over the hash the old password was checked against: a change that won meanwhile is not overwritten.
      const hash = await authCore.hashers.make(newPassword);
      if (!(await authCore.passwords.replaceStored(em, user.id, stored, hash))) throw passwordChangedMeanwhile();
      await withStores(logger, () => auth.keepSessionAfterPasswordChange(user));
      return true;
    },
    async register(_parent, { input }, { auth, authCore, em, logger, config, lockout, clientIp }) {
      if (!config.registrationOpen) {
        throw new GraphQLError('Registration is closed.', { extensions: { code: ErrorCode.REGISTRATION_CLOSED } });
      }
      // A registration hashes a password: it is one of the address's credential checks.
      const admission = await withStores(logger, () => lockout.beginCheck(clientIp));
      if (!admission.admitted) throw tooManyAttempts(admission.retryAfterSeconds);
      try {
        return await registerAs(input, { auth, authCore, em, logger, config });
      } finally {
        await succeeded({ logger }, 'register', admission.attempt);
      }
    },
    async requestPasswordReset(_parent, { email }, { authCore, em, mailer, config, logger, lockout, clientIp }) {
      const address = email.trim();
      // Django's EmailField: a blank or malformed address matches nobody (a blank one would match every account
      // without an e-mail).
      if (!address || codePoints(address) > EMAIL_MAX_LENGTH || !EMAIL.test(address)) return true;
      const reset = authCore.passwordReset;
      // Counted now, the same for every address asked about: a flood is refused before anything is queued for it.
      if (!(await withStores(logger, () => lockout.mayRequestReset(clientIp)))) {
        logger.info('password reset not sent: this address asked PASSWORD_RESET_ADDRESS_LIMIT times already');
        return true;
      }
      // Throttled, found and sent in the background after a random wait: the answer waits for none of the lookup,
      // the tokens or the mail server, and what it leaves behind does not fall on the next request; neither the
      // answer's bytes nor its time (nor the next one's) say whether the address has an account, or whether the
      // account's limit was reached.
      mailer.later(
        async () => {
          for (const user of await reset.usersFor(em, address)) {
            if (!(await lockout.maySendResetEmail(user.id))) {
              logger.info({ userId: user.id }, 'password reset not sent: PASSWORD_RESET_EMAIL_LIMIT reached');
              continue;
            }
            const link = config.passwordReset.urlTemplate
              .replaceAll('{uid}', encodeURIComponent(encodeUid(user.id)))
              .replaceAll('{token}', encodeURIComponent(reset.token(user)));
            mailer.send({ to: user.email, ...resetMessage(user, link, config) }, { userId: user.id });
            logger.info({ userId: user.id }, 'password reset link sent');
          }
        },
        { subject: 'password reset' },
      );
      // The same answer whether or not the address has an account (no account enumeration).
      return true;
    },
    async resetPassword(_parent, { uid, token, newPassword }, context) {
      const { auth, authCore, em, config, logger, clientIp, lockout, deviceCookie } = context;
      const reset = authCore.passwordReset;
      // Tokens are guessed per account: the uid stands for the username.
      const user = await attempting(context, 'reset_password', { username: uid, ip: clientIp }, async (attempt) => {
        const found = await reset.userFor(em, uid, token);
        if (!found) {
          await failed(context, attempt);
          throw invalidToken();
        }
        await succeeded(context, 'reset_password', attempt);
        return found;
      });
      const issues = validatePassword(newPassword, config.passwords, user);
      if (issues.length > 0) throw badUserInput(issues.map((issue) => ({ ...issue, field: 'newPassword' })));
      // Hashed before the row is locked: the lock is held for a comparison and an UPDATE, not for argon2.
      const hash = await authCore.hashers.make(newPassword);
      if (!(await reset.setPassword(em, user.id, token, hash))) throw invalidToken();
      // The sessions would end on their next request anyway (their auth hash no longer matches); ending them now
      // also removes them from the store. A reset is what someone does when they fear their account is taken.
      // The password is set by now: a store failure here is logged, and the answer is still yes.
      const ended = await auth.endSessionsOf(user.id).catch((error: unknown) => {
        logger.error({ err: error, userId: user.id }, 'password reset: the sessions could not be ended now');
        return 0;
      });
      logger.info({ userId: user.id, sessionsEnded: ended }, 'password reset with a link');
      // Whoever holds the link holds the mailbox: this browser is the owner's, counted apart from strangers even
      // while an attack holds the account's count (it may log in with the new password at once).
      const device = lockout.deviceCookie(user.username);
      if (device) deviceCookie.write(device);
      return true;
    },
    async logoutOtherSessions(_parent, _args, { auth }) {
      const user = await auth.user();
      if (!user) throw unauthenticated();
      return auth.logoutOtherSessions(user);
    },
  },
  User: {
    id: (user) => String(user.id),
    // With the permissions, in one query (unless already loaded with the user): `me` costs one statement less.
    groups: (user, _args, { permissions }) =>
      user.groups.isInitialized() ? user.groups.getItems() : permissions.getGroups(user),
    permissions: async (user, _args, { permissions }) => [...(await permissions.getAllPermissions(user))].sort(),
  },
  Group: {
    id: (group) => String(group.id),
  },
};
