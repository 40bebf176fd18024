/**
 * Impersonation, after django-hijack: a superuser, or an active staff member holding `auth.impersonate_user`, acts
 * as another user in their own session. The session then names the impersonated user (every check, every
 * permission is theirs) and remembers the real user's login (`impersonator`), which is restored when it stops.
 *
 * The real user's right is checked again on every request of an impersonated session (not of any other: the hot
 * path is unchanged): deactivated, deleted, their password changed, the permission or the staff flag taken away,
 * no longer a superuser while acting as one, or the impersonated user now holding anything the real user does not,
 * and the session ends there (the request is anonymous).
 */
import type { EntityManager } from '@mikro-orm/postgresql';
import type { User } from '../entities/user.js';
import { isAuthenticated, type RequestUser } from './anonymous.js';
import { NamedError } from './errors.js';
import { heldBeyond } from './escalation.js';
import type { PermissionChecker } from './permissions.js';
import { authHashOf, newSessionKeys, storeCall, type SessionFlow } from './session-auth.js';
import type { ImpersonatorKeys, SessionAuthKeys, SessionHandle } from './session-handle.js';
import { sessionAuthHashMatches } from './session-hash.js';

/** The permission that lets a staff member impersonate (a superuser needs none): a custom one of auth.user. */
export const IMPERSONATE_PERMISSION = 'auth.impersonate_user';

/** What is refused while impersonating (a password change, a token, another impersonation): the real user must act. */
export class RefusedWhileImpersonating extends NamedError {
  constructor() {
    super('RefusedWhileImpersonating', 'This is not allowed while impersonating; stop impersonating first.');
  }
}

/** What the impersonation checks need beyond the session flow: the permissions of the real user. */
export interface ImpersonationFlow extends SessionFlow {
  readonly auth: SessionFlow['auth'] & { permissions(em: EntityManager): PermissionChecker };
}

/** django-hijack's permission check: an active superuser, or an active staff member with the permission. */
export async function mayImpersonate(user: RequestUser, permissions: PermissionChecker): Promise<boolean> {
  if (!isAuthenticated(user) || !user.isActive) return false;
  if (user.isSuperuser) return true;
  return user.isStaff && permissions.hasPerm(user, IMPERSONATE_PERMISSION);
}

/**
 * The real user behind this impersonated session, if they may still act as `user`; otherwise the session is
 * flushed (the request is anonymous) and null returned. Costs statements only for an impersonated session.
 */
export async function impersonatorOf(
  session: SessionHandle,
  em: EntityManager,
  user: User,
  flow: ImpersonationFlow,
): Promise<User | null> {
  const keys = session.keys.impersonator;
  if (!keys) return null;
  const backend = flow.auth.backends.find((candidate) => candidate.name === keys.backend);
  const found = backend ? await backend.getUser(em, keys.userId) : null;
  const why = !found
    ? 'the real user is gone or inactive (or their backend is no longer configured)'
    : !sessionAuthHashMatches(found.passwordHash, keys.authHash, flow.rules.secrets)
      ? "the real user's password changed"
      : // Losing the right ends it at once, not at the next login: a revoked permission must take effect now.
        !(await mayImpersonate(found.user, flow.auth.permissions(em)))
        ? 'the real user may no longer impersonate'
        : // Never as a superuser unless a superuser, then as now.
          user.isSuperuser && !found.user.isSuperuser
          ? 'the real user is no longer a superuser, and the impersonated user is one'
          : // Nor as a user holding anything the real user does not, then as now: a permission granted to the
            // impersonated user, or taken from the real one, since it began must not reach the real user this way.
            (await heldBeyond(em, found.user, { userId: user.id })).length > 0
            ? 'the impersonated user holds what the real user does not'
            : undefined;
  if (why === undefined) return found?.user ?? null;
  flow.logger.debug({ userId: user.id, impersonatorId: keys.userId }, `impersonation ended: ${why}`);
  await storeCall(() => session.flush());
  await flow.auth.events.emit('impersonationEnded', { actorId: keys.userId, userId: user.id });
  return null;
}

/**
 * Starts acting as `target` in the real user's session: a new session id (as a login: the id known before is never
 * the id after), naming the target, with the real user's login kept aside. Neither `last_login` nor
 * `userLoggedIn`: the target did not log in (django-hijack leaves last_login alone too). The real user's login
 * time stays the session's: impersonating never extends SESSION_ABSOLUTE_TIMEOUT.
 */
export async function startImpersonation(
  session: SessionHandle,
  em: EntityManager,
  real: User,
  target: User,
  flow: SessionFlow,
): Promise<void> {
  const { backend, authHash, loginAt, authenticatedAt } = session.keys;
  if (backend === undefined || authHash === undefined) throw new Error('impersonation needs a logged-in session');
  const now = flow.clock.now().getTime();
  const impersonator: ImpersonatorKeys = { userId: real.id, backend, authHash };
  const keys: SessionAuthKeys = {
    userId: target.id,
    // The real user's backend, as django-hijack logs in with the hijacker's.
    backend,
    authHash: await authHashOf(em, target.id, flow),
    loginAt: loginAt ?? now,
    lastActivityAt: now,
    ...newSessionKeys(session, now),
    impersonator,
    // The real user's authentication: impersonating is no reason to ask them again, nor to let them skip it.
    ...(authenticatedAt === undefined ? {} : { authenticatedAt }),
  };
  await storeCall(() => session.cycleKey(keys));
  await flow.auth.events.emit('impersonationStarted', { actorId: real.id, userId: target.id });
}

/** Stops impersonating: the real user's login again, under a new session id. */
export async function stopImpersonation(
  session: SessionHandle,
  target: User,
  real: User,
  flow: SessionFlow,
): Promise<void> {
  const { impersonator, loginAt, authenticatedAt } = session.keys;
  if (!impersonator) throw new Error('not impersonating');
  const now = flow.clock.now().getTime();
  await storeCall(() =>
    session.cycleKey({
      userId: impersonator.userId,
      backend: impersonator.backend,
      authHash: impersonator.authHash,
      loginAt: loginAt ?? now,
      lastActivityAt: now,
      ...newSessionKeys(session, now),
      ...(authenticatedAt === undefined ? {} : { authenticatedAt }),
    }),
  );
  await flow.auth.events.emit('impersonationEnded', { actorId: real.id, userId: target.id });
}
