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
import { getUser, login, logout, storeCall, updateSessionAuthHash, type SessionFlow } from './session-auth.js';
import type { SessionHandle } from './session-handle.js';
import { sessionUserOf } from './user-row.js';

export { SessionStoreError } from './session-auth.js';

export interface RequestAuthDeps extends SessionFlow {
  readonly auth: SessionFlow['auth'] & {
    authenticate(em: EntityManager, credentials: Credentials): Promise<Authenticated | null>;
  };
  /** Where every session is: to end a user's other sessions. */
  readonly store: Pick<SessionStore, 'destroyForUser'>;
}

export class RequestAuth {
  private resolved: Promise<User | null> | undefined;

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
      : getUser(this.session, this.em, this.deps);
    return this.resolved;
  }

  /** Django's `request.user`: the logged-in user, or the anonymous user (never null). */
  async requestUser(): Promise<RequestUser> {
    return (await this.user()) ?? ANONYMOUS_USER;
  }

  /** Authenticates, then logs in (`loginAs`). Returns null for bad credentials, whatever the reason. */
  async login(credentials: Credentials): Promise<User | null> {
    const result = await this.deps.auth.authenticate(this.em, credentials);
    if (!result) return null;
    await this.loginAs(result.user, result.backend);
    return result.user;
  }

  /** Django's `login(request, user, backend)`: starts a session for a user already authenticated (or just created). */
  async loginAs(user: User, backend: string): Promise<void> {
    await login(this.session, this.em, user, backend, this.deps);
    this.resolved = Promise.resolve(user);
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
    await logout(this.session, user, this.deps);
    this.resolved = Promise.resolve(null);
    return true;
  }
}
