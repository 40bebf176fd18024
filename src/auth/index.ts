/**
 * The auth core (Django's `django.contrib.auth`, framework-free: no Express, no GraphQL), assembled from
 * configuration. Everything that varies in tests (time, randomness, the hashers) can be passed in.
 *
 *   const auth = createAuth(config);
 *   const user = await auth.users.createUser(em, { username: 'alice', password: 's3cret-pass' });
 *   const result = await auth.authenticate(em, { username: 'alice', password: 's3cret-pass' });
 *   await auth.permissions(em).hasPerm(result?.user ?? null, 'polls.add_poll');
 */
import type { EntityManager } from '@mikro-orm/postgresql';
import type { AuthSettings } from '../config/index.js';
import { AuthorizationCache } from './authorization-cache.js';
import { authenticate, type Authenticated } from './authenticate.js';
import { EmailBackend, ModelBackend, type AuthenticationBackend, type Credentials } from './backends.js';
import { systemClock, type Clock } from './clock.js';
import { AuthEventBus } from './events.js';
import { createPasswordHashers } from './hashers/from-config.js';
import type { PasswordHashers } from './hashers/index.js';
import { PasswordReset } from './password-reset.js';
import { Passwords } from './passwords.js';
import { PermissionChecker } from './permissions.js';
import { secureRandom, type RandomSource } from './random.js';
import { PasswordResetTokens } from './tokens.js';
import { UserManager } from './users.js';

export { PermissionDenied, ValidationError, type ValidationIssue } from './errors.js';
export type { Authenticated } from './authenticate.js';
export type { AuthenticationBackend, Credentials } from './backends.js';
export type { Clock } from './clock.js';
export type { AuthEvents } from './events.js';
export { PermissionChecker } from './permissions.js';
export { encodeUid, type ResetUser } from './password-reset.js';
export { ANONYMOUS_USER, isAnonymous, isAuthenticated, type AnonymousUser, type RequestUser } from './anonymous.js';

export interface Auth {
  readonly hashers: PasswordHashers;
  readonly passwords: Passwords;
  readonly users: UserManager;
  readonly backends: readonly AuthenticationBackend[];
  readonly events: AuthEventBus;
  /** Password reset by e-mailed link (tokens signed with SESSION_SECRET, valid PASSWORD_RESET_TIMEOUT). */
  readonly passwordReset: PasswordReset;
  authenticate(em: EntityManager, credentials: Credentials): Promise<Authenticated | null>;
  /** A checker for one request (its cache lives as long as it does). */
  permissions(em: EntityManager): PermissionChecker;
}

export interface AuthOptions {
  clock?: Clock;
  random?: RandomSource;
  /** Instead of the hashers PASSWORD_HASHERS names (tests wrap them to count runs). */
  hashers?: PasswordHashers;
  /** Called when an event listener throws; the default ignores it. */
  onListenerError?: (error: unknown, event: string) => void;
}

export function createAuth(config: AuthSettings, options: AuthOptions = {}): Auth {
  const clock = options.clock ?? systemClock;
  const random = options.random ?? secureRandom;
  const hashers = options.hashers ?? createPasswordHashers(config.passwords, random);
  const passwords = new Passwords(hashers);
  // Shared by this process's requests (each checker still loads at most once per request).
  const authorizations = new AuthorizationCache();
  const events = new AuthEventBus(options.onListenerError);
  const available: Record<AuthSettings['authenticationBackends'][number], () => AuthenticationBackend> = {
    model: () => new ModelBackend(passwords),
    email: () => new EmailBackend(passwords),
  };
  const backends = config.authenticationBackends.map((name) => available[name]());
  return {
    hashers,
    passwords,
    users: new UserManager(passwords, clock),
    backends,
    events,
    // Signed with the session secrets, as Django signs both with SECRET_KEY: rotating them voids outstanding links.
    passwordReset: new PasswordReset(
      new PasswordResetTokens(config.session.secrets, config.passwordReset.timeoutSeconds, clock),
      hashers,
    ),
    authenticate: (em, credentials) => authenticate(em, credentials, backends, events),
    permissions: (em) => new PermissionChecker(em, authorizations),
  };
}
