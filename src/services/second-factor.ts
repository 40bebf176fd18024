/**
 * The second factor's use-cases: enrolling and turning TOTP on and off, completing a pending login with a code or a
 * recovery code, recovery codes, reauthenticating for step-up, and an administrator's reset. Wrong codes are
 * counted by the lockout as wrong passwords are (the `login` action, under the account's login name): a password
 * known to an attacker does not buy unlimited guesses at six digits.
 */
import type { EntityManager } from '@mikro-orm/postgresql';
import QRCode from 'qrcode';
import { revokeAccessTokensOf } from '../auth/access-tokens.js';
import { heldBeyond } from '../auth/escalation.js';
import type { Auth } from '../auth/index.js';
import type { Lockout } from '../auth/lockout.js';
import { LoginNames } from '../auth/login-names.js';
import type { RecoveryCodes } from '../auth/recovery-codes.js';
import { UndecryptableSecret } from '../auth/secret-box.js';
import type { SecondFactorMethod } from '../auth/session-auth.js';
import type { TotpDevices } from '../auth/totp-devices.js';
import { User } from '../entities/user.js';
import type { Logger } from '../logger.js';
import { attempting, type AttemptOutcome } from './attempts.js';
import type { Client } from './accounts.js';
import {
  InvalidCode,
  InvalidCredentials,
  NoPendingLogin,
  NotFound,
  NotLoggedIn,
  NotPermitted,
  SessionRequired,
  TotpAlreadyEnabled,
  TotpNotEnabled,
} from './errors.js';
import type { SessionEnder, SessionFlow } from './session-flow.js';

/** Wrong codes a pending login survives: the next one ends it, and the password must be given again. */
export const PENDING_LOGIN_FAILURES = 3;

export interface SecondFactorDeps {
  readonly em: EntityManager;
  readonly core: Pick<Auth, 'events' | 'passwords' | 'backends'>;
  readonly logger: Logger;
  readonly lockout: Lockout;
  readonly session: SessionFlow;
  readonly totp: TotpDevices;
  readonly recoveryCodes: RecoveryCodes;
}

/** What enrolment answers: the secret, its URI, and the URI as a QR code an authenticator app scans. */
export interface StartedEnrollment {
  readonly secret: string;
  readonly uri: string;
  readonly qrCodeSvg: string;
}

export class SecondFactor {
  constructor(private readonly deps: SecondFactorDeps) {}

  /** Where the logged-in user stands: TOTP on or not, recovery codes left. */
  async status(): Promise<{ totpEnabled: boolean; recoveryCodesLeft: number }> {
    const { em, totp, recoveryCodes } = this.deps;
    const user = await this.loggedIn();
    const totpEnabled = await totp.isEnabled(em, user.id);
    return { totpEnabled, recoveryCodesLeft: totpEnabled ? await recoveryCodes.remaining(em, user.id) : 0 };
  }

  /** A new secret for the logged-in user, not in force until confirmTotp. */
  async startEnrollment(): Promise<StartedEnrollment> {
    const user = await this.realUser();
    const enrollment = await this.deps.totp.enroll(this.deps.em, user);
    if (!enrollment) throw new TotpAlreadyEnabled();
    const qrCodeSvg = await QRCode.toString(enrollment.uri, { type: 'svg', errorCorrectionLevel: 'M', margin: 2 });
    return { ...enrollment, qrCodeSvg };
  }

  /** Turns TOTP on with a first right code; answers the ten recovery codes, shown this once. */
  async confirm(code: string): Promise<string[]> {
    const { em, totp, recoveryCodes, core } = this.deps;
    const user = await this.realUser();
    if (await totp.isEnabled(em, user.id)) throw new TotpAlreadyEnabled();
    // On with its recovery codes, or not at all: never a device in force that a lost phone would lock out for good.
    const codes = await em.transactional(async (tx) => {
      if (!(await totp.confirm(tx, user.id, code))) throw new InvalidCode();
      return recoveryCodes.regenerate(tx, user.id);
    });
    await core.events.emit('totpEnabled', { userId: user.id });
    // Every other session was made with the password alone, perhaps a stolen one, which TOTP is turned on against:
    // they end, as at a password change; this one goes on. (Access tokens stay: myAccessTokens lists them.)
    await this.deps.session.logoutOtherSessions(user);
    return codes;
  }

  /** Turns TOTP off: the password and a code (or a recovery code), both counted by the lockout when wrong. */
  async disable(password: string, code: string, client: Client): Promise<true> {
    const { em, totp, recoveryCodes, core } = this.deps;
    const user = await this.realUser();
    if (!(await totp.isEnabled(em, user.id))) throw new TotpNotEnabled();
    await this.proveIdentity(user, password, code, client, 'disable');
    await em.transactional(async (tx) => {
      await totp.remove(tx, user.id);
      await recoveryCodes.remove(tx, user.id);
    });
    await core.events.emit('totpDisabled', { userId: user.id });
    return true;
  }

  /**
   * New recovery codes, the old ones void; answered this once. With the password and a code, as disableTotp: new
   * codes are a way in, and a session whose password was stolen before TOTP was on must not mint them.
   */
  async regenerateRecoveryCodes(password: string, code: string, client: Client): Promise<string[]> {
    const { em, totp, recoveryCodes, core } = this.deps;
    const user = await this.realUser();
    if (!(await totp.isEnabled(em, user.id))) throw new TotpNotEnabled();
    await this.proveIdentity(user, password, code, client, 'regenerate');
    const codes = await recoveryCodes.regenerate(em, user.id);
    await core.events.emit('recoveryCodesRegenerated', { userId: user.id });
    return codes;
  }

  /**
   * Completes the pending login with a TOTP code or a recovery code: logged in under a new session id. Wrong codes
   * count toward the lockout, and PENDING_LOGIN_FAILURES of them end the pending login.
   */
  async verifyPendingLogin(
    method: SecondFactorMethod,
    code: string,
    client: Client,
  ): Promise<{ user: User; deviceCookie?: string }> {
    const { session, lockout, core } = this.deps;
    if (session.accessToken) throw new SessionRequired();
    const pending = await session.pendingLogin();
    if (!pending) throw new NoPendingLogin();
    const { user } = pending;
    await attempting(this.deps, 'second_factor', this.source(user, client), async (attempt) => {
      if (await this.codeIsRight(user, method, code)) {
        await attempt.succeeded();
        return;
      }
      await this.failed(attempt, user, method, 'login');
      await session.pendingLoginFailed(PENDING_LOGIN_FAILURES);
      throw new InvalidCode();
    });
    await session.completePendingLogin(pending, method);
    // Only now does this browser earn its device cookie (the password alone earned nothing): both factors passed.
    const deviceCookie = lockout.deviceCookie(new LoginNames(core.backends).of(user));
    return deviceCookie ? { user, deviceCookie } : { user };
  }

  /**
   * Step-up: the logged-in user proves who they are again (the password, and a code when TOTP is on), and the fields
   * that ask for a recent authentication answer again.
   */
  async reauthenticate(password: string, code: string | null | undefined, client: Client): Promise<true> {
    const user = await this.realUser();
    await this.proveIdentity(user, password, code ?? '', client, 'reauthenticate');
    await this.deps.session.reauthenticated();
    return true;
  }

  /**
   * An administrator removes `userId`'s TOTP device and recovery codes (a lost phone), and ends their sessions: a
   * reset is what is done when an account may be in other hands. Only a superuser resets a superuser's.
   */
  async reset(userId: number): Promise<true> {
    const { em, session } = this.deps;
    const actor = await this.realUser();
    const target = await em.findOne(User, { id: userId });
    if (!target) throw new NotFound('user');
    // One's own is turned off with disableTotp, which asks for the password and a code: a session left open is not
    // the second factor.
    if (target.id === actor.id) throw new NotPermitted('Turn your own second factor off with disableTotp.');
    // A staff member must not be able to weaken the account of someone who holds every permission, nor of anyone
    // holding a permission they lack (the rule of the admin's set password and of impersonation).
    if (target.isSuperuser && !actor.isSuperuser)
      throw new NotPermitted("Only a superuser may reset a superuser's second factor.");
    if ((await heldBeyond(em, actor, { userId: target.id })).length > 0)
      throw new NotPermitted('This account holds permissions you do not: its second factor is not yours to reset.');
    if ((await resetSecondFactor({ ...this.deps, sessions: session }, userId, actor.id)) === undefined)
      throw new TotpNotEnabled();
    return true;
  }

  /** The password, then (with TOTP on) a code: a wrong one of either is a failed attempt. */
  private async proveIdentity(
    user: User,
    password: string,
    code: string,
    client: Client,
    purpose: 'reauthenticate' | 'disable' | 'regenerate',
  ): Promise<void> {
    const { em, core, totp } = this.deps;
    await attempting(this.deps, 'second_factor', this.source(user, client), async (attempt) => {
      if ((await core.passwords.checkForChange(em, user.id, password)) === undefined) {
        await attempt.failed();
        throw new InvalidCredentials();
      }
      if (await totp.isEnabled(em, user.id)) {
        // A six-digit code is a TOTP code; anything else is tried as a recovery code.
        const method: SecondFactorMethod = /^\s*\d{6}\s*$/.test(code) ? 'totp' : 'recovery_code';
        if (!(await this.codeIsRight(user, method, code))) {
          await this.failed(attempt, user, method, purpose);
          throw new InvalidCode();
        }
      }
      await attempt.succeeded();
    });
  }

  private async codeIsRight(user: User, method: SecondFactorMethod, code: string): Promise<boolean> {
    const { em, totp, recoveryCodes, core, logger } = this.deps;
    if (method === 'totp') {
      try {
        return await totp.verify(em, user.id, code);
      } catch (error) {
        if (!(error instanceof UndecryptableSecret)) throw error;
        // The operator's to fix (the client gets SECOND_FACTOR_UNAVAILABLE): say what and for whom.
        logger.error(
          { userId: user.id, reason: error.reason },
          "a TOTP secret cannot be decrypted (its key left SECRET_ENCRYPTION_KEYS?): reset this user's second factor",
        );
        throw error;
      }
    }
    if (!(await recoveryCodes.use(em, user.id, code))) return false;
    await core.events.emit('recoveryCodeUsed', {
      userId: user.id,
      remaining: await recoveryCodes.remaining(em, user.id),
    });
    return true;
  }

  private async failed(
    attempt: AttemptOutcome,
    user: User,
    method: SecondFactorMethod,
    purpose: 'login' | 'reauthenticate' | 'disable' | 'regenerate',
  ): Promise<void> {
    await attempt.failed();
    await this.deps.core.events.emit('secondFactorFailed', { userId: user.id, method, purpose });
  }

  /** Counted under the account's login name, with the passwords tried for it: one count for both factors. */
  private source(user: User, client: Client) {
    const name = new LoginNames(this.deps.core.backends).of(user);
    return { username: name, ip: client.ip, deviceCookie: client.deviceCookie };
  }

  private async loggedIn(): Promise<User> {
    const user = await this.deps.session.user();
    if (!user) throw new NotLoggedIn();
    return user;
  }

  /** The logged-in user acting for themself: not through an access token, not under impersonation. */
  private async realUser(): Promise<User> {
    const { session } = this.deps;
    if (session.accessToken) throw new SessionRequired();
    const user = await this.loggedIn();
    // Whoever impersonates acts for support: the account's factors are not theirs to change.
    await session.assertNotImpersonating();
    return user;
  }
}

/**
 * Removes a user's TOTP device and recovery codes and ends their sessions, for an administrator (`actorId`) or a
 * command (null). How many sessions ended; undefined when the user had no second factor (nothing done).
 */
export async function resetSecondFactor(
  deps: Pick<SecondFactorDeps, 'em' | 'totp' | 'recoveryCodes'> & {
    readonly core: Pick<Auth, 'events'>;
    readonly sessions: SessionEnder;
  },
  userId: number,
  actorId: number | null,
): Promise<number | undefined> {
  const { em, totp, recoveryCodes, sessions, core } = deps;
  const removed = await em.transactional(async (tx) => {
    const device = await totp.remove(tx, userId);
    const codes = await recoveryCodes.remove(tx, userId);
    if (!device && codes === 0) return false;
    // Whoever holds the account may have made tokens with it: they would outlive the reset (it changes no password).
    await revokeAccessTokensOf(tx, userId);
    return true;
  });
  if (!removed) return undefined;
  // A reset is what is done when the account may be in other hands: whoever is logged in as the user is not any more.
  const ended = await sessions.endSessionsOf(userId);
  await core.events.emit('secondFactorReset', { actorId, userId });
  return ended;
}
