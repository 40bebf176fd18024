/**
 * Who is making this request, and logging in and out: Django's AuthenticationMiddleware (`request.user`, lazy,
 * resolved once) and the session flow (session-auth.ts) bound to one request's session and EntityManager. What the
 * resolvers use, as `context.auth`.
 */
import type { EntityManager } from '@mikro-orm/postgresql';
import type { User } from '../entities/user.js';
import type { SessionStore } from '../stores/session-store.js';
import type { VerifiedAccessToken } from './access-tokens.js';
import { ANONYMOUS_USER, type RequestUser } from './anonymous.js';
import type { Credentials } from './backends.js';
import type { Authenticated } from './authenticate.js';
import {
  impersonatorOf,
  RefusedWhileImpersonating,
  startImpersonation,
  stopImpersonation,
  type ImpersonationFlow,
} from './impersonation.js';
import { sessionAuthHashMatches } from './session-hash.js';
import {
  authHashOf,
  getUser,
  login,
  logout,
  newPublicId,
  storeCall,
  updateSessionAuthHash,
  type LoginOptions,
  type LoginOutcome,
  type SecondFactorMethod,
} from './session-auth.js';
import type { SessionAuthKeys, SessionHandle } from './session-handle.js';
import { currentRequest } from '../logger.js';
import { sessionUserOf } from './user-row.js';

export { SessionStoreError } from './session-auth.js';

export interface RequestAuthDeps extends ImpersonationFlow {
  readonly auth: ImpersonationFlow['auth'] & {
    authenticate(em: EntityManager, credentials: Credentials): Promise<Authenticated | null>;
  };
  /** Where every session is: to list a user's sessions and end them. */
  readonly store: Pick<SessionStore, 'destroyForUser' | 'listForUser' | 'destroy' | 'update'>;
  /** Whether an account has a second factor, and how long a login waits for it (SECOND_FACTOR_TIMEOUT). */
  readonly secondFactor: {
    isEnabled(em: EntityManager, userId: number): Promise<boolean>;
    readonly pendingTimeoutSeconds: number;
  };
}

/** A password login waiting for its second factor, as this request's session holds it, and its user. */
export interface PendingLogin {
  readonly userId: number;
  readonly backend: string;
  readonly user: User;
}

/** One session of a user, as the session list shows it: never its id. */
export interface SessionView {
  /** The public id (random, drawn apart from the session id). */
  readonly id: string;
  readonly createdAt: Date;
  /** The last activity recorded: written at most once per SESSION_TOUCH_INTERVAL, so up to that much behind. */
  readonly lastActiveAt: Date;
  readonly userAgent: string;
  readonly address: string;
  /** The session of this request. */
  readonly current: boolean;
  /** Someone acts as the user in it. */
  readonly impersonated: boolean;
}

export class RequestAuth {
  private resolved: Promise<User | null> | undefined;
  /** Under impersonation, the real user, resolved with the user. */
  private realUser: User | null = null;

  /**
   * `accessToken`: the request authenticated with a personal access token (src/http/bearer.ts), verified with its
   * owner's row; it has no session, and nothing here starts or ends one.
   */
  constructor(
    private readonly session: SessionHandle,
    private readonly em: EntityManager,
    private readonly deps: RequestAuthDeps,
    readonly accessToken?: VerifiedAccessToken,
  ) {}

  /** The logged-in user (or the access token's owner), or null for an anonymous request. Resolved once. */
  user(): Promise<User | null> {
    this.resolved ??= this.accessToken
      ? Promise.resolve(sessionUserOf(this.em, this.accessToken.user).user)
      : this.resolveUser();
    return this.resolved;
  }

  private async resolveUser(): Promise<User | null> {
    // Whether the session was impersonated as it was read, before getUser: a touch there reads the session again,
    // and if it ended in between (a logout in another tab) the keys are gone. Asked after, the request would go on as
    // the impersonated user with no impersonator, past the refusals (a token for the account, say).
    const impersonated = this.session.keys.impersonator !== undefined;
    const user = await getUser(this.session, this.em, this.deps);
    if (!user) return null;
    if (impersonated) {
      // Only an impersonated session pays for this: the real user's right is checked on each of its requests.
      this.realUser = await impersonatorOf(this.session, this.em, user, this.deps);
      if (!this.realUser) {
        // The session just ended: the rest of the request is anonymous, and no row may name the user it named.
        attribute(null, null);
        return null;
      }
    }
    attribute(user, this.realUser);
    return user;
  }

  /** Under impersonation, the real user acting as `user()`; null otherwise. */
  async impersonator(): Promise<User | null> {
    await this.user();
    return this.realUser;
  }

  /**
   * Refuses (RefusedWhileImpersonating) what only the real user may do: change the password, create an access
   * token, impersonate again. Whoever impersonates acts for support, and must not take the account over.
   */
  async assertNotImpersonating(): Promise<void> {
    if (await this.impersonator()) throw new RefusedWhileImpersonating();
  }

  /**
   * Starts acting as `target` in this session (the checks of who may are the caller's: services/sessions.ts). False
   * when the session ended since this request read it (a logout elsewhere, found by the touch): nothing to act in.
   */
  async impersonate(target: User): Promise<boolean> {
    const real = await this.user();
    if (!real) throw new Error('impersonation needs a logged-in user');
    await this.assertNotImpersonating();
    if (this.session.keys.userId !== real.id) return false;
    await startImpersonation(this.session, this.em, real, target, this.deps);
    this.resolved = Promise.resolve(target);
    this.realUser = real;
    attribute(target, real);
    return true;
  }

  /** Stops impersonating: the real user is logged in again (a new session id). Returns them; null if not impersonating. */
  async stopImpersonating(): Promise<User | null> {
    const [target, real] = [await this.user(), await this.impersonator()];
    if (!target || !real) return null;
    await stopImpersonation(this.session, target, real, this.deps);
    this.resolved = Promise.resolve(real);
    this.realUser = null;
    attribute(real, null);
    return real;
  }

  /**
   * A user's live sessions, as the session list shows them; `current` marks this request's. A session stored
   * before sessions had a public id gets one now (written back, once).
   */
  async sessionsOf(userId: number): Promise<SessionView[]> {
    const listed = await storeCall(() => this.deps.store.listForUser(userId));
    const views: SessionView[] = [];
    for (const { sid, data, expiresAt } of listed) {
      const current = sid === this.session.id;
      // This request's own session as it is now: its activity just recorded, though written when the request ends.
      const keys = current ? this.session.keys : (data as SessionAuthKeys);
      let publicId = keys.publicId;
      if (publicId === undefined) {
        publicId = newPublicId();
        if (current) await storeCall(() => this.session.update({ publicId }));
        else await storeCall(() => this.deps.store.update(sid, { ...data, publicId }, expiresAt));
      }
      const createdAt = keys.createdAt ?? keys.loginAt ?? 0;
      views.push({
        id: publicId,
        createdAt: new Date(createdAt),
        lastActiveAt: new Date(keys.lastActivityAt ?? createdAt),
        userAgent: keys.userAgent ?? 'Unknown',
        address: keys.ip ?? '',
        current,
        impersonated: keys.impersonator !== undefined,
      });
    }
    // Most recently active first: the browser in hand is usually at the top.
    return views.sort((a, b) => b.lastActiveAt.getTime() - a.lastActiveAt.getTime() || a.id.localeCompare(b.id));
  }

  /**
   * Ends the session of `userId` whose public id is `publicId`: false when that user has none such (another user's
   * session is never found by its public id). This request's own session is logged out (its cookie cleared).
   */
  async endSessionOf(userId: number, publicId: string): Promise<boolean> {
    const listed = await storeCall(() => this.deps.store.listForUser(userId));
    const found = listed.find(({ data }) => (data as SessionAuthKeys).publicId === publicId);
    if (!found) return false;
    if (found.sid === this.session.id) await this.logout();
    else {
      await storeCall(() => this.deps.store.destroy(found.sid));
      // Whoever acted as the user there acts no more: the impersonation ended with the session, as at a logout.
      const impersonator = (found.data as SessionAuthKeys).impersonator;
      if (impersonator)
        await this.deps.auth.events.emit('impersonationEnded', { actorId: impersonator.userId, userId });
    }
    return true;
  }

  /** Django's `request.user`: the logged-in user, or the anonymous user (never null). */
  async requestUser(): Promise<RequestUser> {
    return (await this.user()) ?? ANONYMOUS_USER;
  }

  /**
   * Authenticates, then logs in (`loginAs`): the user and whether the login is complete or waits for the account's
   * second factor. Null for bad credentials, whatever the reason.
   */
  async login(credentials: Credentials): Promise<{ user: User; outcome: LoginOutcome } | null> {
    const result = await this.deps.auth.authenticate(this.em, credentials);
    if (!result) return null;
    return { user: result.user, outcome: await this.loginAs(result.user, result.backend) };
  }

  /**
   * Django's `login(request, user, backend)`: starts a session for a user already authenticated (or just created).
   * Every login path comes through here, so the second factor is decided in this one place: an account with TOTP on
   * gets a pending login instead (a new session id holding who and since when, and no user), unless the first factor
   * proved the second too (`secondFactorVerified`: an identity provider asserting multi-factor authentication).
   */
  async loginAs(user: User, backend: string, options: LoginOptions = {}): Promise<LoginOutcome> {
    // A login in an impersonated session is a new login of its own: the impersonation ends with it, and is recorded.
    const { impersonator, userId: actedAs } = this.session.keys;
    const outcome = await this.startLogin(user, backend, options);
    if (impersonator && actedAs !== undefined)
      await this.deps.auth.events.emit('impersonationEnded', { actorId: impersonator.userId, userId: actedAs });
    return outcome;
  }

  private async startLogin(user: User, backend: string, options: LoginOptions): Promise<LoginOutcome> {
    if (options.secondFactorVerified !== true && (await this.deps.secondFactor.isEnabled(this.em, user.id))) {
      const pendingLogin = {
        userId: user.id,
        backend,
        startedAt: this.deps.clock.now().getTime(),
        authHash: await authHashOf(this.em, user.id, this.deps),
        failures: 0,
      };
      // A new id, and no userId: whoever was logged in in this browser is not any more, and nobody is until the code
      // (a password alone must never leave an authenticated session behind).
      await storeCall(() => this.session.cycleKey({ pendingLogin }));
      this.resolved = Promise.resolve(null);
      this.realUser = null;
      attribute(null, null);
      return 'second_factor_required';
    }
    await login(this.session, this.em, user, backend, this.deps);
    this.resolved = Promise.resolve(user);
    this.realUser = null;
    return 'complete';
  }

  /**
   * The login waiting for its second factor in this session, with its user as the login's backend reads them.
   * Undefined when there is none; ended (and undefined) when it expired, or when its user is gone, inactive, or
   * changed their password since (a reset is what the owner does when the password leaked).
   */
  async pendingLogin(): Promise<PendingLogin | undefined> {
    const pending = this.accessToken ? undefined : this.session.keys.pendingLogin;
    if (!pending) return undefined;
    const age = this.deps.clock.now().getTime() - pending.startedAt;
    const backend = this.deps.auth.backends.find((candidate) => candidate.name === pending.backend);
    // A stolen password gets SECOND_FACTOR_TIMEOUT to find a code, not the session's whole life.
    const alive = age >= 0 && age < this.deps.secondFactor.pendingTimeoutSeconds * 1000;
    const found = alive && backend ? await backend.getUser(this.em, pending.userId) : null;
    if (!found || !sessionAuthHashMatches(found.passwordHash, pending.authHash, this.deps.rules.secrets)) {
      await storeCall(() => this.session.flush());
      return undefined;
    }
    return { userId: pending.userId, backend: pending.backend, user: found.user };
  }

  /**
   * A wrong code for the pending login: counted, and after `allowed` of them the pending login ends (the password
   * must be given again). True while it goes on.
   */
  async pendingLoginFailed(allowed: number): Promise<boolean> {
    const pending = this.session.keys.pendingLogin;
    if (!pending) return false;
    const failures = pending.failures + 1;
    if (failures >= allowed) {
      await storeCall(() => this.session.flush());
      return false;
    }
    await storeCall(() => this.session.update({ pendingLogin: { ...pending, failures } }));
    return true;
  }

  /** The pending login's second factor was proved: the user is logged in, under a new session id. */
  async completePendingLogin(pending: PendingLogin, method: SecondFactorMethod): Promise<void> {
    await login(this.session, this.em, pending.user, pending.backend, this.deps, method);
    this.resolved = Promise.resolve(pending.user);
    this.realUser = null;
  }

  /**
   * When this session's user last proved who they are (epoch milliseconds), for step-up; undefined without a session
   * (an access token has no authentication time: a field asking for a recent one refuses it).
   */
  authenticatedAt(): number | undefined {
    if (this.accessToken) return undefined;
    const { authenticatedAt, loginAt, userId } = this.session.keys;
    return userId === undefined ? undefined : (authenticatedAt ?? loginAt);
  }

  /** The user proved who they are again (`reauthenticate`): step-up counts from now. */
  async reauthenticated(): Promise<void> {
    await storeCall(() => this.session.update({ authenticatedAt: this.deps.clock.now().getTime() }));
  }

  /**
   * Django's `update_session_auth_hash` after a password change: this session survives under a new id, with the
   * new password's auth hash; every other session of the user ends. Returns how many others ended.
   */
  async keepSessionAfterPasswordChange(user: User): Promise<number> {
    await updateSessionAuthHash(this.session, this.em, user, this.deps);
    return this.logoutOtherSessions(user);
  }

  /** Ends every other session of the logged-in user; returns how many. */
  async logoutOtherSessions(user: User): Promise<number> {
    return storeCall(() => this.deps.store.destroyForUser(user.id, this.session.id));
  }

  /** Ends every session of a user (this one too, if it is theirs); returns how many. */
  async endSessionsOf(userId: number): Promise<number> {
    return storeCall(() => this.deps.store.destroyForUser(userId));
  }

  /** Ends the session (deleted from the store) and clears the cookie. True even when anonymous. */
  async logout(): Promise<boolean> {
    const user = await this.user();
    const real = this.realUser;
    await logout(this.session, user, this.deps);
    if (user && real) await this.deps.auth.events.emit('impersonationEnded', { actorId: real.id, userId: user.id });
    this.realUser = null;
    this.resolved = Promise.resolve(null);
    return true;
  }
}

/**
 * Who the request being served acts as, for the audit log (it reads the request's scope): under impersonation, both
 * the impersonated user and the real one; nobody (null) once its session ended.
 */
function attribute(user: User | null, impersonator: User | null): void {
  const scope = currentRequest();
  if (!scope) return;
  if (user) scope.userId = user.id;
  else delete scope.userId;
  if (impersonator) scope.impersonatorId = impersonator.id;
  else delete scope.impersonatorId;
}
