/**
 * The session use-cases: "where am I logged in" (a user lists their sessions and ends one), the same for staff on
 * any user's (sessions.view_session, sessions.delete_session: Django's own permissions of its session model), and
 * impersonation (django-hijack's model: src/auth/impersonation.ts). The session ids never leave the request's
 * session flow: a session is named by its public id.
 */
import type { EntityManager } from '@mikro-orm/postgresql';
import type { AuthEventBus, PermissionChecker } from '../auth/index.js';
import { heldBeyond } from '../auth/escalation.js';
import { mayImpersonate } from '../auth/impersonation.js';
import type { SessionView } from '../auth/request-auth.js';
import { User } from '../entities/user.js';
import {
  ImpersonationRefused,
  NotFound,
  NotImpersonating,
  NotLoggedIn,
  NotPermitted,
  SessionRequired,
} from './errors.js';

/** What these use-cases need of the request's session (RequestAuth). */
export interface SessionControl {
  /** Set when the request authenticated with a personal access token: it has no session to act in. */
  readonly accessToken?: unknown;
  user(): Promise<User | null>;
  sessionsOf(userId: number): Promise<SessionView[]>;
  endSessionOf(userId: number, publicId: string): Promise<boolean>;
  impersonator(): Promise<User | null>;
  assertNotImpersonating(): Promise<void>;
  /** False when the session ended since the request read it. */
  impersonate(target: User): Promise<boolean>;
  stopImpersonating(): Promise<User | null>;
}

export interface SessionDeps {
  readonly em: EntityManager;
  readonly events: AuthEventBus;
  /** The request's permission checks: whether the caller may impersonate. */
  readonly permissions: PermissionChecker;
  readonly session: SessionControl;
}

export class Sessions {
  constructor(private readonly deps: SessionDeps) {}

  /** The logged-in user's sessions, the current one marked. */
  async mine(): Promise<SessionView[]> {
    this.sessionOnly();
    return this.deps.session.sessionsOf((await this.caller()).id);
  }

  /**
   * Ends one of the logged-in user's sessions by its public id (this one too: a logout). NotFound for an id that
   * is none of theirs, whether it is unknown or another user's: the same answer, so ids of others cannot be probed.
   */
  async end(publicId: string): Promise<true> {
    this.sessionOnly();
    const caller = await this.caller();
    return this.endOf(caller, caller, publicId);
  }

  /** A user's sessions, for staff (the directives checked the permission); never those of whoever outranks them. */
  async ofUser(userId: number): Promise<SessionView[]> {
    this.sessionOnly();
    const target = await this.target(await this.caller(), userId);
    return this.deps.session.sessionsOf(target.id);
  }

  /** Ends one of a user's sessions, for staff. */
  async endOfUser(userId: number, publicId: string): Promise<true> {
    this.sessionOnly();
    const caller = await this.caller();
    return this.endOf(caller, await this.target(caller, userId), publicId);
  }

  /**
   * Starts acting as the user `userId`. Refused to a request made with an access token (SessionRequired), while
   * already impersonating (RefusedWhileImpersonating), without the right (NotPermitted), for an unknown user
   * (NotFound), and (ImpersonationRefused) for oneself, an inactive user, a superuser unless a superuser, or a user
   * holding anything the caller does not: whoever acts as them could use it (the rule the admin use-cases follow
   * for setting a password).
   */
  async impersonate(userId: number): Promise<User> {
    const { session, permissions, em } = this.deps;
    // A token has no session to act in, and a superuser's scoped token would pass the superuser's shortcut below.
    this.sessionOnly();
    const caller = await this.caller();
    // First: acting as someone, the caller's rights are that user's, and a second impersonation is no one's to ask.
    await session.assertNotImpersonating();
    // Before the target is looked up: without the right, which ids are users is not said.
    if (!(await mayImpersonate(caller, permissions))) throw new NotPermitted();
    const target = await em.findOne(User, userId);
    if (!target) throw new NotFound('user');
    if (target.id === caller.id) throw new ImpersonationRefused('SELF');
    if (!target.isActive) throw new ImpersonationRefused('INACTIVE');
    if (target.isSuperuser && !caller.isSuperuser) throw new ImpersonationRefused('SUPERUSER');
    if ((await heldBeyond(em, caller, { userId: target.id })).length > 0) throw new ImpersonationRefused('HOLDS_MORE');
    // The session ended while this request ran (a logout in another tab): no one is logged in to act.
    if (!(await session.impersonate(target))) throw new NotLoggedIn();
    // The rest of the operation asks about the impersonated user's permissions, not the caller's.
    permissions.forget();
    return target;
  }

  /** Stops impersonating: the real user's login again. NotImpersonating when the session is not impersonating. */
  async stopImpersonating(): Promise<User> {
    this.sessionOnly();
    await this.caller();
    const real = await this.deps.session.stopImpersonating();
    if (!real) throw new NotImpersonating();
    this.deps.permissions.forget();
    return real;
  }

  private async endOf(caller: User, target: User, publicId: string): Promise<true> {
    if (!(await this.deps.session.endSessionOf(target.id, publicId))) throw new NotFound('session');
    await this.deps.events.emit('sessionEnded', { actorId: caller.id, userId: target.id });
    return true;
  }

  /**
   * The user whose sessions staff act on: only a superuser acts on a superuser's (their addresses included), and
   * nobody on those of a user holding anything they do not hold themselves (the rule impersonation and the admin's
   * set password follow): the session permissions must not let staff watch or log out whoever outranks them.
   */
  private async target(caller: User, userId: number): Promise<User> {
    const { em } = this.deps;
    const target = await em.findOne(User, userId);
    if (!target) throw new NotFound('user');
    if (target.isSuperuser && !caller.isSuperuser) throw new NotPermitted();
    if ((await heldBeyond(em, caller, { userId: target.id })).length > 0) throw new NotPermitted();
    return target;
  }

  /**
   * Refuses to a request made with an access token (it has no session): impersonation, and the session list. Where
   * the owner is logged in, and logging them out there, is the account's business, not a script's, however scoped
   * its token (logoutOtherSessions is refused to it too).
   */
  private sessionOnly(): void {
    if (this.deps.session.accessToken) throw new SessionRequired();
  }

  private async caller(): Promise<User> {
    const user = await this.deps.session.user();
    if (!user) throw new NotLoggedIn();
    return user;
  }
}
