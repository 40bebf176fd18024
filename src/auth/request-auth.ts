/**
 * Who is making this request, and logging in and out (Django's `get_user`, `login`, `logout` and
 * AuthenticationMiddleware), on express-session.
 *
 * The user is resolved lazily, once per request: the session names a user, a backend and an auth hash. The session
 * ends (and the request is anonymous) when it is past its idle or absolute timeout, when its backend or user is
 * gone or inactive, or when the user's password changed since login.
 */
import type { Request } from 'express';
import type { Session, SessionData } from 'express-session';
import type { EntityManager } from '@mikro-orm/postgresql';
import { ANONYMOUS_USER, type RequestUser } from '../auth/anonymous.js';
import type { Auth } from '../auth/index.js';
import type { Clock } from '../auth/clock.js';
import { storedHash } from '../auth/passwords.js';
import { sessionAuthHash, sessionAuthHashMatches } from '../auth/session-hash.js';
import type { SessionConfig } from '../config/index.js';
import { User } from '../entities/user.js';
import { warnIfSessionCookieLost } from './cookie-diagnostics.js';
import type { Logger } from '../logger.js';
import type { SessionStore } from './session-store.js';
import './session-data.js';

export interface RequestAuthDeps {
  auth: Auth;
  clock: Clock;
  config: SessionConfig;
  store: SessionStore;
  logger: Logger;
}

/** The session store failed: the login cannot be kept, so it did not happen. */
export class SessionStoreError extends Error {
  constructor(cause: unknown) {
    super('the session store is unavailable', { cause });
    this.name = 'SessionStoreError';
  }
}

export class RequestAuth {
  private resolved: Promise<User | null> | undefined;

  constructor(
    private readonly req: Request,
    private readonly em: EntityManager,
    private readonly deps: RequestAuthDeps,
  ) {}

  /** The logged-in user, or null for an anonymous request. Resolved once. */
  user(): Promise<User | null> {
    this.resolved ??= this.resolve();
    return this.resolved;
  }

  /** Django's `request.user`: the logged-in user, or the anonymous user (never null). */
  async requestUser(): Promise<RequestUser> {
    return (await this.user()) ?? ANONYMOUS_USER;
  }

  /**
   * Authenticates, then starts a new session (a new id, always: fixation defence, also when the same user logs in
   * again) and stores it before answering. Returns null for bad credentials, whatever the reason.
   */
  async login(credentials: Record<string, unknown>): Promise<User | null> {
    const result = await this.deps.auth.authenticate(this.em, credentials);
    if (!result) return null;
    await this.loginAs(result.user, result.backend);
    return result.user;
  }

  /** Django's `login(request, user, backend)`: starts a session for a user already authenticated (or just created). */
  async loginAs(user: User, backend: string): Promise<void> {
    const now = this.deps.clock.now();
    // Before the session exists: if this fails, the request fails with nothing stored and no cookie sent.
    await this.em.nativeUpdate(User, { id: user.id }, { lastLogin: now });
    user.lastLogin = now;
    await this.startSession({
      userId: user.id,
      backend,
      authHash: await this.authHashOf(user.id),
      loginAt: now.getTime(),
      lastActivityAt: now.getTime(),
    });
    // "The login works, then I am logged out": the log says why the browser will not keep this cookie.
    warnIfSessionCookieLost(this.req, this.deps.config, this.deps.logger);
    this.resolved = Promise.resolve(user);
    await this.deps.auth.events.emit('userLoggedIn', { user, backend });
  }

  /**
   * Django's `update_session_auth_hash` after a password change: this session survives under a new id, with the
   * new password's auth hash; every other session of the user ends. Returns how many others ended.
   */
  async keepSessionAfterPasswordChange(user: User): Promise<number> {
    const { backend, loginAt } = this.req.session;
    await this.startSession({
      userId: user.id,
      backend,
      loginAt,
      lastActivityAt: this.deps.clock.now().getTime(),
      authHash: await this.authHashOf(user.id),
    });
    return this.storeCall(() => this.deps.store.destroyForUser(user.id, this.req.sessionID));
  }

  /** Ends every other session of the logged-in user; returns how many. */
  async logoutOtherSessions(user: User): Promise<number> {
    return this.storeCall(() => this.deps.store.destroyForUser(user.id, this.req.sessionID));
  }

  /** Ends every session of a user (this one too, if it is theirs); returns how many. */
  async endSessionsOf(userId: number): Promise<number> {
    return this.storeCall(() => this.deps.store.destroyForUser(userId));
  }

  /** Ends the session (deleted from the store) and clears the cookie. True even when anonymous. */
  async logout(): Promise<boolean> {
    const user = await this.user();
    // Resolving may already have ended the session (expired, password changed): nothing left to destroy then.
    if (this.hasSession()) await this.storeCall(() => promisify((done) => this.req.session.destroy(done)));
    this.forgetSession();
    this.resolved = Promise.resolve(null);
    await this.deps.auth.events.emit('userLoggedOut', { user });
    return true;
  }

  private async resolve(): Promise<User | null> {
    const session: Session & SessionData = this.req.session;
    const { userId, backend: backendName, authHash, loginAt, lastActivityAt } = session;
    if (userId === undefined) return null;
    const now = this.deps.clock.now().getTime();
    const { idleTimeoutSeconds, absoluteTimeoutSeconds, touchIntervalSeconds, secrets } = this.deps.config;
    const expired =
      loginAt === undefined || lastActivityAt === undefined
        ? 'it carries no login time'
        : now >= loginAt + absoluteTimeoutSeconds * 1000
          ? 'SESSION_ABSOLUTE_TIMEOUT passed since login'
          : now >= lastActivityAt + idleTimeoutSeconds * 1000
            ? 'SESSION_IDLE_TIMEOUT passed without activity'
            : undefined;
    const backend = this.deps.auth.backends.find((candidate) => candidate.name === backendName);
    // The PostgreSQL store read the user's row with the session: then this costs no statement.
    const found =
      expired || !backend ? null : await backend.getUser(this.em, userId, this.deps.store.takeUserRow(this.req));
    if (!found || !authHash || !sessionAuthHashMatches(found.passwordHash, authHash, secrets)) {
      // "Sessions expire too fast" / "logged out for no reason": the debug log says which rule ended it.
      const why =
        expired ??
        (!backend
          ? `its backend ${JSON.stringify(backendName)} is no longer in AUTHENTICATION_BACKENDS`
          : !found
            ? 'the user is gone or inactive'
            : 'the password changed since login (or SESSION_SECRET no longer holds the secret it was made with)');
      this.deps.logger.debug({ userId }, `session ended: ${why}`);
      await this.flush();
      return null;
    }
    // Activity is recorded at most once per interval: one write, not one per request.
    if (now - (lastActivityAt ?? 0) >= touchIntervalSeconds * 1000) session.lastActivityAt = now;
    return found.user;
  }

  /** Django's `session.flush()`: delete the session, send no cookie for it, and tell the browser to drop it. */
  private async flush(): Promise<void> {
    await this.storeCall(() => promisify((done) => this.req.session.destroy(done)));
    this.forgetSession();
  }

  /**
   * A fresh session id carrying `data`, stored now (a failure is a SessionStoreError, and then no cookie is sent).
   * The old session, if any, is deleted first: an id known before login is never the id after it.
   */
  private async startSession(data: Omit<SessionData, 'cookie'>): Promise<void> {
    try {
      if (this.hasSession()) await promisify((done) => this.req.session.regenerate(done));
      else this.req.sessionStore.generate(this.req);
      this.deps.store.allowInsert(this.req.sessionID);
      Object.assign(this.req.session, data);
      await promisify((done) => this.req.session.save(done));
    } catch (error) {
      this.forgetSession();
      throw new SessionStoreError(error);
    }
  }

  private async authHashOf(userId: number): Promise<string> {
    return sessionAuthHash((await storedHash(this.em, userId)) ?? '', this.deps.config.secrets[0] ?? '');
  }

  private async storeCall<T>(call: () => Promise<T>): Promise<T> {
    try {
      return await call();
    } catch (error) {
      throw new SessionStoreError(error);
    }
  }

  private hasSession(): boolean {
    return (this.req as { session?: unknown }).session !== undefined;
  }

  /**
   * Drops the session from this response (express-session sets a cookie and saves only while req.session exists)
   * and, if the browser presented a session cookie, tells it to delete that cookie.
   */
  private forgetSession(): void {
    (this.req as { session?: unknown }).session = undefined;
    const { cookieName, cookiePath, cookieDomain, cookieSecure, sameSite } = this.deps.config;
    if (!this.req.get('cookie')?.includes(`${cookieName}=`)) return;
    // The same attributes as when it was set: browsers refuse to clear a Secure or prefixed cookie otherwise.
    this.req.res?.clearCookie(cookieName, {
      path: cookiePath,
      httpOnly: true,
      secure: cookieSecure,
      sameSite,
      ...(cookieDomain ? { domain: cookieDomain } : {}),
    });
  }
}

function promisify(start: (done: (error?: unknown) => void) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    start((error) => {
      if (error) reject(error instanceof Error ? error : new Error('session store error', { cause: error }));
      else resolve();
    });
  });
}
