/**
 * The account use-cases (Django's LoginView, PasswordChangeView, PasswordResetView and PasswordResetConfirmView,
 * UserCreationForm, and the admin's and `changepassword`'s set password), under the lockout. Callers (resolvers,
 * commands) pass what they read and show what comes back; refusals are the errors of ./errors.ts and the core's
 * ValidationError.
 */
import type { EntityManager } from '@mikro-orm/postgresql';
import { ValidationError, type Auth } from '../auth/index.js';
import type { PasswordChangeVia } from '../auth/events.js';
import type { Lockout } from '../auth/lockout.js';
import { LoginNames } from '../auth/login-names.js';
import { validatePassword, type UserAttributes } from '../auth/password-validation.js';
import { codePoints } from '../auth/text.js';
import { EMAIL_MAX_LENGTH, isEmailAddress, normalizeUsername, validateUsername } from '../auth/users.js';
import type { Config } from '../config/index.js';
import type { User } from '../entities/user.js';
import type { Logger } from '../logger.js';
import type { Mailer } from '../mail/index.js';
import { attempting, succeeded } from './attempts.js';
import {
  InvalidCredentials,
  InvalidResetLink,
  LockedOut,
  NotLoggedIn,
  PasswordChangedMeanwhile,
  RegistrationClosed,
  SecondFactorRequired,
  SessionRequired,
} from './errors.js';
import { resetLink, resetMessage } from './reset-email.js';
import type { SessionFlow } from './session-flow.js';

type AccountConfig = Pick<Config, 'passwords' | 'passwordReset' | 'registrationOpen'>;

/** What setting a password needs: the request's database, the core's hashers and reset tokens, the validators. */
export interface PasswordDeps {
  readonly em: EntityManager;
  readonly core: Pick<Auth, 'hashers' | 'passwords' | 'passwordReset'>;
  readonly config: Pick<Config, 'passwords'>;
}

export interface NewPassword {
  /** Whose: the id, and what the validators compare the password with. */
  readonly user: UserAttributes & { readonly id: number };
  readonly password: string;
  /** The input that carried it, named in a validation error. */
  readonly field: string;
  /**
   * What must still hold when it is written, so that of changes racing each other exactly one wins and the others
   * learn it instead of answering yes while their password is silently overwritten (a lost update): the hash the
   * caller read when it began (compare-and-swap), with who sets it (for the audit log), or a reset token (checked
   * again under a row lock).
   */
  readonly over:
    { readonly hash: string; readonly via: Exclude<PasswordChangeVia, 'reset'> } | { readonly resetToken: string };
  /**
   * The user's sessions, ended `before` the password is written or `after` it (returning how many ended). A store
   * error thrown by either is the operation's: before, nothing was written; after, the password is set.
   */
  readonly sessions: { readonly before: () => Promise<number> } | { readonly after: () => Promise<number> };
}

/**
 * Sets a password and ends the sessions it must end: the one use-case behind a change, a reset, an admin's set and
 * `changepassword`. Validated, then hashed before anything is locked (the row lock is held for a comparison and an
 * UPDATE, not for argon2), then written only if `over` still holds. Returns how many sessions ended.
 */
export async function setPassword({ em, core, config }: PasswordDeps, request: NewPassword): Promise<number> {
  const { user, password, field, over, sessions } = request;
  const issues = await validatePassword(password, config.passwords, user);
  if (issues.length > 0) throw new ValidationError(issues.map((issue) => ({ ...issue, field })));
  const ended = 'before' in sessions ? await sessions.before() : 0;
  const hash = await core.hashers.make(password);
  if ('hash' in over) {
    if (!(await core.passwords.replaceStored(em, user.id, over.hash, hash, over.via)))
      throw new PasswordChangedMeanwhile();
  } else if (!(await core.passwordReset.setPassword(em, user.id, over.resetToken, hash))) {
    throw new InvalidResetLink();
  }
  return 'after' in sessions ? sessions.after() : ended;
}

export interface AccountDeps extends PasswordDeps {
  readonly core: Auth;
  readonly config: AccountConfig;
  readonly logger: Logger;
  readonly lockout: Lockout;
  readonly mailer: Mailer;
  /** The request's session: who is logged in, logging in and out. */
  readonly session: SessionFlow;
}

/** Where a credential check comes from: the lockout counts per username, per address and per device. */
export interface Client {
  readonly ip: string;
  /** The device cookie the browser sent, if any. */
  readonly deviceCookie?: string | undefined;
}

export interface Registration {
  username: string;
  email: string;
  password: string;
  firstName?: string | null | undefined;
  lastName?: string | null | undefined;
}

/** The account use-cases of one request. */
export class Accounts {
  constructor(private readonly deps: AccountDeps) {}

  /**
   * Logs in (a new session id, always), or InvalidCredentials whatever was wrong. With the device cookie this
   * browser now earns (OWASP's: its next attempts are counted apart from strangers'), if any.
   */
  async login(username: string, password: string, client: Client): Promise<{ user: User; deviceCookie?: string }> {
    const { session, lockout, em, core } = this.deps;
    this.sessionOnly();
    const names = new LoginNames(core.backends);
    // Counted per account, not per name typed: the username and the address get one LOCKOUT_LIMIT between them.
    const accounts = () => names.reachedBy(em, username);
    const source = { username, accounts, ip: client.ip, deviceCookie: client.deviceCookie };
    const { user, outcome } = await attempting(this.deps, 'login', source, async (attempt) => {
      const found = await session.login({ username, password });
      // One answer for every kind of failure: which one it was is for the log, never for the client.
      if (!found) {
        await attempt.failed();
        throw new InvalidCredentials();
      }
      // Waiting for the second factor, the attempt is neither: its count starts again only once the login completes,
      // so that a known password cannot wipe out the wrong codes guessed between two logins.
      if (found.outcome === 'complete') await attempt.succeeded();
      return found;
    });
    // Told apart from a failure (the password was right), and only after it: the methods the next step takes.
    if (outcome === 'second_factor_required') throw new SecondFactorRequired();
    // The account's, whichever of its names was typed: it vouches for this browser by any of them.
    const deviceCookie = lockout.deviceCookie(names.of(user));
    return deviceCookie ? { user, deviceCookie } : { user };
  }

  logout(): Promise<boolean> {
    this.sessionOnly();
    return this.deps.session.logout();
  }

  /** The logged-in user's password, with the current one: this session goes on, every other one ends. */
  async changePassword(oldPassword: string, newPassword: string, client: Client): Promise<true> {
    const { em, core, session } = this.deps;
    this.sessionOnly();
    const user = await this.loggedIn();
    // Whoever impersonates acts for support: taking the account over by its password is not theirs to do.
    await session.assertNotImpersonating();
    // A stolen session must not become a password oracle: wrong old passwords count as failed logins do.
    const stored = await attempting(
      this.deps,
      'change_password',
      { username: user.username, ip: client.ip },
      async (attempt) => {
        const checked = await core.passwords.checkForChange(em, user.id, oldPassword);
        if (checked === undefined) {
          await attempt.failed();
          throw new ValidationError([
            { code: 'password_incorrect', message: 'Your old password was entered incorrectly.', field: 'oldPassword' },
          ]);
        }
        // The old password was right: what is guessed was not guessed, whatever becomes of the new one.
        await attempt.succeeded();
        return checked;
      },
    );
    // Only over the hash the old password was checked against: a change that won meanwhile is not overwritten.
    await setPassword(this.deps, {
      user,
      password: newPassword,
      field: 'newPassword',
      over: { hash: stored, via: 'change' },
      sessions: { after: () => session.keepSessionAfterPasswordChange(user) },
    });
    return true;
  }

  /** Ends every other session of the logged-in user; returns how many. */
  async logoutOtherSessions(): Promise<number> {
    this.sessionOnly();
    return this.deps.session.logoutOtherSessions(await this.loggedIn());
  }

  /** Creates the account (every failed rule listed at once) and logs it in. */
  async register(input: Registration, client: Client): Promise<User> {
    const { core, config, lockout, logger, em, session } = this.deps;
    if (!config.registrationOpen) throw new RegistrationClosed();
    this.sessionOnly();
    // A registration hashes a password: it is one of the address's credential checks.
    const admission = await lockout.beginCheck(client.ip);
    if (!admission.admitted) throw new LockedOut(admission.retryAfterSeconds);
    try {
      const { username, email, password } = input;
      const [firstName, lastName] = [input.firstName ?? '', input.lastName ?? ''];
      const passwordIssues = await validatePassword(password, config.passwords, {
        username,
        email,
        firstName,
        lastName,
      });
      let user;
      try {
        if (passwordIssues.length > 0) throw new ValidationError(passwordIssues);
        user = await core.users.createUser(em, { username, email, password, firstName, lastName });
      } catch (error) {
        if (!(error instanceof ValidationError)) throw error;
        // Username problems are checked too when the password is refused, so every failed rule is listed at once.
        const usernameIssues = passwordIssues.length > 0 ? validateUsername(normalizeUsername(username)) : [];
        throw new ValidationError([...usernameIssues, ...error.issues]);
      }
      // Logged in through the first configured backend, the one that will be asked for the user later.
      await session.loginAs(user, core.backends[0]?.name ?? 'model');
      return user;
    } finally {
      await succeeded({ logger }, 'register', admission.attempt);
    }
  }

  /**
   * E-mails a reset link to every active account with this address and a usable password, in the background. The
   * caller answers the same whatever happens here (no account enumeration).
   */
  async requestPasswordReset(email: string, client: Client): Promise<void> {
    const { core, em, mailer, config, logger, lockout } = this.deps;
    const address = email.trim();
    // Django's EmailField: a blank or malformed address matches nobody (a blank one would match every account
    // without an e-mail).
    if (!address || codePoints(address) > EMAIL_MAX_LENGTH || !isEmailAddress(address)) return;
    // Counted now, the same for every address asked about: a flood is refused before anything is queued for it.
    if (!(await lockout.mayRequestReset(client.ip))) {
      logger.info('password reset not sent: this address asked PASSWORD_RESET_ADDRESS_LIMIT times already');
      return;
    }
    const reset = core.passwordReset;
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
          const link = resetLink(user, reset.token(user), config);
          mailer.send({ to: user.email, ...resetMessage(user, link, config) }, { userId: user.id });
          logger.info({ userId: user.id }, 'password reset link sent');
        }
      },
      { subject: 'password reset' },
    );
  }

  /**
   * Sets the password of the link's user and ends their sessions. With the device cookie this browser now earns:
   * whoever holds the link holds the mailbox, so it is the owner's, counted apart from strangers even while an
   * attack holds the account's count (it may log in with the new password at once).
   */
  async resetPassword(
    uid: string,
    token: string,
    newPassword: string,
    client: Client,
  ): Promise<{ deviceCookie?: string }> {
    const { core, em, logger, lockout, session } = this.deps;
    // Tokens are guessed per account: the uid stands for the username.
    const user = await attempting(this.deps, 'reset_password', { username: uid, ip: client.ip }, async (attempt) => {
      const found = await core.passwordReset.userFor(em, uid, token);
      if (!found) {
        await attempt.failed();
        throw new InvalidResetLink();
      }
      await attempt.succeeded();
      return found;
    });
    const ended = await setPassword(this.deps, {
      user,
      password: newPassword,
      field: 'newPassword',
      over: { resetToken: token },
      // The sessions would end on their next request anyway (their auth hash no longer matches); ending them now
      // also removes them from the store. A reset is what someone does when they fear their account is taken.
      // The password is set by now: a store failure here is logged, and the answer is still yes.
      sessions: {
        after: () =>
          session.endSessionsOf(user.id).catch((error: unknown) => {
            logger.error({ err: error, userId: user.id }, 'password reset: the sessions could not be ended now');
            return 0;
          }),
      },
    });
    logger.info({ userId: user.id, sessionsEnded: ended }, 'password reset with a link');
    const deviceCookie = lockout.deviceCookie(new LoginNames(core.backends).of(user));
    return deviceCookie ? { deviceCookie } : {};
  }

  /**
   * Refuses an operation on the browser session to a request made with an access token: it has none to start, keep
   * or end, and a token that could log in or change the password would outlive what ends it.
   */
  private sessionOnly(): void {
    if (this.deps.session.accessToken) throw new SessionRequired();
  }

  private async loggedIn(): Promise<User> {
    const user = await this.deps.session.user();
    if (!user) throw new NotLoggedIn();
    return user;
  }
}
