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
import {
  backendFrom,
  EmailBackend,
  ExternalBackend,
  oidcBackendName,
  ModelBackend,
  type AuthenticationBackend,
  type BackendExport,
  type Credentials,
} from './backends.js';
import { systemClock, type Clock } from './clock.js';
import { AuthEventBus } from './events.js';
import { ExternalIdentities } from './external-identities.js';
import { ImproperlyConfigured } from './errors.js';
import { loadedExport } from './extensions.js';
import { createPasswordHashers } from './hashers/from-config.js';
import type { PasswordHashers } from './hashers/index.js';
import { PasswordReset } from './password-reset.js';
import { Passwords } from './passwords.js';
import { PermissionChecker } from './permissions.js';
import { secureRandom, type RandomSource } from './random.js';
import { PasswordResetTokens } from './tokens.js';
import { UserManager } from './users.js';

export { ImproperlyConfigured, PermissionDenied, ValidationError, type ValidationIssue } from './errors.js';
export type { Authenticated } from './authenticate.js';
export type { Clock } from './clock.js';
export { loadExtensions } from './extensions.js';
// The extension points (docs/extending.md): what a module named in AUTHENTICATION_BACKENDS, PASSWORD_HASHERS,
// PASSWORD_VALIDATORS or EVENT_LISTENERS exports by default, and what it is given.
export type {
  AuthenticationBackend,
  BackendCore,
  BackendExport,
  Credentials,
  CustomAuthenticationBackend,
  LoginFailureReason,
  ReportFailure,
} from './backends.js';
export type { CustomPasswordHasher, PasswordHasher } from './hashers/index.js';
export type { PasswordValidator, UserAttributes } from './password-validation.js';
export type { AuthEventBus, AuthEvents, Listener } from './events.js';
/** An EVENT_LISTENERS module's default export: subscribes to the events it wants (`events.on`). */
export type EventSubscriber = (events: AuthEventBus) => void;
export type { User } from '../entities/user.js';
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
  /** Accounts at identity providers (OpenID Connect) linked to users, and which user a provider's login reaches. */
  readonly externalIdentities: ExternalIdentities;
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
  const events = new AuthEventBus(options.onListenerError);
  const passwords = new Passwords(hashers, events);
  const users = new UserManager(passwords, clock, events);
  // Shared by this process's requests (each checker still loads at most once per request).
  const authorizations = new AuthorizationCache();
  const model = new ModelBackend(passwords);
  const available = {
    model: () => model,
    email: () => new EmailBackend(passwords),
  } satisfies Record<Extract<AuthSettings['authenticationBackends'][number], string>, () => AuthenticationBackend>;
  const backends = config.authenticationBackends.map((entry) =>
    typeof entry === 'string'
      ? available[entry]()
      : backendFrom(
          entry.module,
          loadedExport('AUTHENTICATION_BACKENDS', entry) as BackendExport,
          { users, passwords },
          model,
        ),
  );
  // After the configured ones: each OpenID Connect provider reads the users of the sessions it started.
  for (const provider of config.oidc?.providers ?? [])
    backends.push(new ExternalBackend(oidcBackendName(provider.name), model));
  // Those that take credentials: a provider's backend never does (its logins come through the callback).
  const credentialBackends = backends.filter((backend) => !(backend instanceof ExternalBackend));
  const names = backends.map((backend) => backend.name);
  const repeated = names.find((name, index) => names.indexOf(name) !== index);
  // A session remembers its backend by name: two of one name would let one's sessions be read by the other.
  if (repeated !== undefined)
    throw new ImproperlyConfigured(`AUTHENTICATION_BACKENDS has two backends named ${repeated}`);
  for (const entry of config.eventListeners ?? [])
    (loadedExport('EVENT_LISTENERS', entry) as (events: AuthEventBus) => void)(events);
  return {
    hashers,
    passwords,
    users,
    backends,
    events,
    // Signed with the session secrets, as Django signs both with SECRET_KEY: rotating them voids outstanding links.
    passwordReset: new PasswordReset(
      new PasswordResetTokens(config.session.secrets, config.passwordReset.timeoutSeconds, clock),
      hashers,
      events,
    ),
    externalIdentities: new ExternalIdentities(users, clock, random),
    authenticate: (em, credentials) => authenticate(em, credentials, credentialBackends, events),
    permissions: (em) => new PermissionChecker(em, authorizations),
  };
}
