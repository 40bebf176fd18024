/**
 * Django's session flow (`django/contrib/auth/__init__.py`): `login`, `logout`, `getUser` and
 * `updateSessionAuthHash`, over a session handle (session-handle.ts), whatever keeps the session.
 *
 * A session names a user, a backend and an auth hash. It ends (and the request is anonymous) when it is past its
 * idle or absolute timeout (session-expiry.ts), when its backend or user is gone or inactive, or when the user's
 * password changed since login.
 */
import type { EntityManager } from '@mikro-orm/postgresql';
import { User } from '../entities/user.js';
import { currentRequest, type Logger } from '../logger.js';
import type { AuthenticationBackend } from './backends.js';
import type { Clock } from './clock.js';
import type { AuthEventBus } from './events.js';
import { storedHash } from './passwords.js';
import { secureRandom, type RandomSource } from './random.js';
import { sessionEnd, type SessionTimeouts } from './session-expiry.js';
import type { SessionAuthKeys, SessionHandle } from './session-handle.js';
import { sessionAuthHash, sessionAuthHashMatches } from './session-hash.js';
import { coarseUserAgent } from './user-agent.js';

/** The settings the flow follows (SESSION_*). */
export interface SessionRules extends SessionTimeouts {
  /** Activity is written at most this often. */
  readonly touchIntervalSeconds: number;
  /** SESSION_SECRET: the first makes auth hashes, all verify them. */
  readonly secrets: readonly string[];
}

/** What the flow works with. */
export interface SessionFlow {
  readonly auth: { readonly backends: readonly AuthenticationBackend[]; readonly events: AuthEventBus };
  readonly clock: Clock;
  readonly rules: SessionRules;
  /** Says at debug level why a session ended ("logged out for no reason"). */
  readonly logger: Pick<Logger, 'debug' | 'warn'>;
}

/** How a login's second factor was proved. */
export type SecondFactorMethod = 'totp' | 'recovery_code';

/** How a login ended: logged in, or waiting for the account's second factor. */
export type LoginOutcome = 'complete' | 'second_factor_required';

export interface LoginOptions {
  /** The first factor proved the second too (an identity provider asserting multi-factor authentication). */
  readonly secondFactorVerified?: boolean;
}

/** The session store failed: a login or logout cannot be kept, so it did not happen. */
export class SessionStoreError extends Error {
  constructor(cause: unknown) {
    super('the session store is unavailable', { cause });
    this.name = 'SessionStoreError';
  }
}

/** Runs a store operation; its failure is a SessionStoreError. */
export async function storeCall<T>(call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    throw new SessionStoreError(error);
  }
}

/**
 * Django's `login(request, user, backend)`: a new session for a user already authenticated (or just created), under
 * a new id, always (fixation defence, also when the same user logs in again), stored before answering.
 */
export async function login(
  session: SessionHandle,
  em: EntityManager,
  user: User,
  backend: string,
  flow: SessionFlow,
  secondFactor?: SecondFactorMethod,
): Promise<void> {
  const now = flow.clock.now();
  // Before the session exists: if this fails, the request fails with nothing stored and no cookie sent.
  await em.nativeUpdate(User, { id: user.id }, { lastLogin: now });
  user.lastLogin = now;
  const authHash = await authHashOf(em, user.id, flow);
  await storeCall(() =>
    session.cycleKey({
      userId: user.id,
      backend,
      authHash,
      loginAt: now.getTime(),
      lastActivityAt: now.getTime(),
      authenticatedAt: now.getTime(),
      ...newSessionKeys(session, now.getTime()),
    }),
  );
  actingAs(user.id);
  await flow.auth.events.emit('userLoggedIn', { user, backend, ...(secondFactor ? { secondFactor } : {}) });
}

/**
 * Django's `get_user`: the user the session names, or null (anonymous). A session that may no longer be used is
 * flushed. Costs no statement of its own when the store read the user with the session.
 */
export async function getUser(session: SessionHandle, em: EntityManager, flow: SessionFlow): Promise<User | null> {
  const { userId, backend: backendName, authHash, loginAt, lastActivityAt } = session.keys;
  if (userId === undefined) return null;
  const now = flow.clock.now().getTime();
  const end = sessionEnd({ loginAt, lastActivityAt }, flow.rules, now);
  const expired =
    loginAt === undefined || lastActivityAt === undefined
      ? 'it carries no login time'
      : now >= end.at
        ? end.by === 'absolute'
          ? 'SESSION_ABSOLUTE_TIMEOUT passed since login'
          : 'SESSION_IDLE_TIMEOUT passed without activity'
        : undefined;
  const backend = flow.auth.backends.find((candidate) => candidate.name === backendName);
  const found = expired || !backend ? null : await backend.getUser(em, userId, session.user ?? undefined);
  if (!found || !authHash || !sessionAuthHashMatches(found.passwordHash, authHash, flow.rules.secrets)) {
    // "Sessions expire too fast" / "logged out for no reason": the debug log says which rule ended it.
    const why =
      expired ??
      (!backend
        ? `its backend ${JSON.stringify(backendName)} is no longer in AUTHENTICATION_BACKENDS`
        : !found
          ? 'the user is gone or inactive'
          : 'the password changed since login (or SESSION_SECRET no longer holds the secret it was made with)');
    flow.logger.debug({ userId }, `session ended: ${why}`);
    await storeCall(() => session.flush());
    return null;
  }
  // Activity is recorded at most once per interval: one write, not one per request.
  if (now - (lastActivityAt ?? 0) >= flow.rules.touchIntervalSeconds * 1000) {
    // Not worth failing the request for: the next one records it.
    await session.update({ lastActivityAt: now }).catch((error: unknown) => {
      flow.logger.warn({ err: error }, 'session activity not recorded: the session store failed');
    });
  }
  actingAs(found.user.id);
  return found.user;
}

/**
 * Django's `update_session_auth_hash` after a password change: this session survives, under a new id, with the new
 * password's auth hash (other sessions of the user end at their next request, their hash no longer matching).
 */
export async function updateSessionAuthHash(
  session: SessionHandle,
  em: EntityManager,
  user: User,
  flow: SessionFlow,
): Promise<void> {
  const { backend, loginAt } = session.keys;
  const keys: SessionAuthKeys = {
    userId: user.id,
    lastActivityAt: flow.clock.now().getTime(),
    authHash: await authHashOf(em, user.id, flow),
  };
  if (backend !== undefined) keys.backend = backend;
  if (loginAt !== undefined) keys.loginAt = loginAt;
  // The same browser's session, under a new id: the session list shows it as the one it was.
  const { publicId, createdAt, userAgent, ip, impersonator, authenticatedAt } = session.keys;
  // Kept as it was: the old password proves the first factor only, and step-up with TOTP on wants the code too.
  if (authenticatedAt !== undefined) keys.authenticatedAt = authenticatedAt;
  if (publicId !== undefined) keys.publicId = publicId;
  if (createdAt !== undefined) keys.createdAt = createdAt;
  if (userAgent !== undefined) keys.userAgent = userAgent;
  if (ip !== undefined) keys.ip = ip;
  if (impersonator !== undefined) keys.impersonator = impersonator;
  await storeCall(() => session.cycleKey(keys));
}

/** Django's `logout`: the session is deleted and its cookie cleared (also when anonymous); `user` is who left. */
export async function logout(session: SessionHandle, user: User | null, flow: SessionFlow): Promise<void> {
  await storeCall(() => session.flush());
  await flow.auth.events.emit('userLoggedOut', { user });
  actingAs(undefined);
}

/**
 * Records who the request being served acts as (logger.ts's request scope): the audit log attributes what the
 * request does to them. Nothing outside a request.
 */
function actingAs(userId: number | undefined): void {
  const scope = currentRequest();
  if (!scope) return;
  // Whoever impersonated before this login or logout acts no more in this request (a logout then a login in one
  // operation): request-auth.ts names them again when the session read is an impersonation.
  delete scope.impersonatorId;
  if (userId === undefined) delete scope.userId;
  else scope.userId = userId;
}

/**
 * What the session list shows of a session this request starts: a public id (random, drawn apart from the session
 * id: knowing one tells nothing of the other), when, and from where (coarsely).
 */
export function newSessionKeys(
  session: SessionHandle,
  now: number,
  random: RandomSource = secureRandom,
): Required<Pick<SessionAuthKeys, 'publicId' | 'createdAt' | 'userAgent' | 'ip'>> {
  return {
    publicId: newPublicId(random),
    createdAt: now,
    userAgent: coarseUserAgent(session.client.userAgent),
    ip: session.client.ip,
  };
}

/** A session's public id: 128 random bits, base64url. */
export function newPublicId(random: RandomSource = secureRandom): string {
  return random.bytes(16).toString('base64url');
}

export async function authHashOf(em: EntityManager, userId: number, flow: SessionFlow): Promise<string> {
  return sessionAuthHash((await storedHash(em, userId)) ?? '', flow.rules.secrets[0] ?? '');
}
