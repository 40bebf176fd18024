/**
 * Authentication backends (Django's AUTHENTICATION_BACKENDS): each turns credentials into a user or says no.
 * A backend returns null, without hashing anything, for credentials that are not its kind, so that with several
 * backends a login still costs one password check.
 *
 * A failed login costs the same whether the user exists or not: one query (id, hash and is_active together) and
 * one hasher run. Only a successful one loads the user entity.
 */
import type { EntityManager } from '@mikro-orm/postgresql';
import { selectAll, selectOne } from '../db/sql.js';
import { User } from '../entities/user.js';
import { ImproperlyConfigured } from './errors.js';
import { isBackend } from './extensions.js';
import type { Passwords } from './passwords.js';
import { loadUserRow, sessionUserOf, type SessionUser, type UserRow } from './user-row.js';
import { normalizeUsername, type UserManager } from './users.js';

export type Credentials = Record<string, unknown>;

/**
 * Why a backend said no: for the operator's debug log only. A client is never told (that would tell an attacker
 * which usernames exist and which passwords are right).
 */
export type LoginFailureReason =
  | 'not_applicable' // the credentials are not this backend's kind (no username, say)
  | 'unknown_user'
  | 'ambiguous_email' // several accounts share the address: nobody logs in with it
  | 'unusable_password' // the account has no password (set_unusable_password)
  | 'wrong_password'
  | 'inactive' // the right password, on an inactive account
  | 'permission_denied'; // the backend stopped the chain

/** Called by a backend, at most once per call, with the reason it returned null. */
export type ReportFailure = (reason: LoginFailureReason) => void;

export interface AuthenticationBackend {
  /** Recorded with the login, so the session can ask the same backend for the user later. */
  readonly name: string;
  /**
   * The user these credentials prove, or null (telling `report` why, if it can). May throw PermissionDenied to
   * stop the chain.
   */
  authenticate(em: EntityManager, credentials: Credentials, report?: ReportFailure): Promise<User | null>;
  /**
   * Django's `get_user`: the user a session names, with their password hash, or null if the session may no longer
   * be used. `row` is that user's row when the session store read it along with the session (then no statement).
   */
  getUser(em: EntityManager, userId: number, row?: UserRow): Promise<SessionUser | null>;
}

/**
 * A backend of an app's own (AUTHENTICATION_BACKENDS=model,./backends/ldap.js; docs/extending.md). `getUser` may be
 * left out: then the model backend's reads the user for each request of the session (the user must be a local one,
 * as django-auth-ldap's are).
 */
export type CustomAuthenticationBackend = Pick<AuthenticationBackend, 'name' | 'authenticate'> &
  Partial<Pick<AuthenticationBackend, 'getUser'>>;

/** What a backend module's default export may ask for, when it is a function rather than the backend itself. */
export interface BackendCore {
  /** Finds and creates local users (`getByUsername`, `createUser`). */
  readonly users: UserManager;
  /** Checks and sets passwords with the configured hashers. */
  readonly passwords: Passwords;
}

/** A backend module's default export: the backend, or a function that makes it from the core. */
export type BackendExport = CustomAuthenticationBackend | ((core: BackendCore) => CustomAuthenticationBackend);

/** The backend a module's default export stands for, with the model backend's `getUser` if it has none. */
export function backendFrom(
  module: string,
  exported: BackendExport,
  core: BackendCore,
  model: ModelBackend,
): AuthenticationBackend {
  const backend = typeof exported === 'function' ? exported(core) : exported;
  if (!isBackend(backend))
    throw new ImproperlyConfigured(
      `AUTHENTICATION_BACKENDS names ${module}, whose default export did not return an authentication backend: it needs name and authenticate()`,
    );
  return {
    name: backend.name,
    authenticate: (em, credentials, report) => backend.authenticate(em, credentials, report),
    getUser: (em, userId, row) => (backend.getUser ?? model.getUser.bind(model))(em, userId, row),
  };
}

/** What a password check needs of a user, read in one query. */
interface LoginRow {
  id: number;
  password: string;
  is_active: boolean;
}

/** Django's ModelBackend: `{ username, password }`. */
export class ModelBackend implements AuthenticationBackend {
  readonly name: string = 'model';

  constructor(protected readonly passwords: Passwords) {}

  async authenticate(em: EntityManager, credentials: Credentials, report?: ReportFailure): Promise<User | null> {
    const { username, password } = credentials;
    if (typeof username !== 'string' || typeof password !== 'string') {
      report?.('not_applicable');
      return null;
    }
    // Django's login form NFKC-normalizes the username before ModelBackend sees it; we have no form, so here.
    const row = await selectOne<LoginRow>(em, 'SELECT id, password, is_active FROM auth_user WHERE username = ?', [
      normalizeUsername(username),
    ]);
    return this.check(em, row, password, report);
  }

  async getUser(em: EntityManager, userId: number, row?: UserRow): Promise<SessionUser | null> {
    const found = row?.id === userId ? row : await loadUserRow(em, userId);
    if (!found) return null;
    const loaded = sessionUserOf(em, found);
    // Django's `user_can_authenticate`: inactive users are refused.
    return loaded.user.isActive ? loaded : null;
  }

  protected async check(
    em: EntityManager,
    row: LoginRow | undefined,
    password: string,
    report: ReportFailure | undefined,
    missing: LoginFailureReason = 'unknown_user',
  ): Promise<User | null> {
    if (!row) {
      // Run the default password hasher once to reduce the timing difference between an existing and a
      // nonexistent user (Django #20760).
      await this.passwords.hashers.runDummy(password);
      report?.(missing);
      return null;
    }
    // The password is checked even for an inactive user, so that timing does not tell who is inactive.
    const valid = await this.passwords.checkStored(em, row.id, row.password, password);
    if (!valid) {
      report?.(this.passwords.hashers.isUsable(row.password) ? 'wrong_password' : 'unusable_password');
      return null;
    }
    if (!row.is_active) {
      report?.('inactive');
      return null;
    }
    return em.findOne(User, { id: row.id });
  }
}

/**
 * `{ email, password }`, or the address in `username` (as Django's login form posts `username` whatever the
 * USERNAME_FIELD, so that `login(username:, password:)` takes an address), the e-mail matched case-insensitively
 * (Django's `iexact`). Django lets several users share an address; when more than one user has it, nobody can log in
 * with it (guessing which one is meant would be worse).
 */
export class EmailBackend extends ModelBackend {
  override readonly name = 'email';

  override async authenticate(
    em: EntityManager,
    credentials: Credentials,
    report?: ReportFailure,
  ): Promise<User | null> {
    const { password } = credentials;
    // A `username` without an @ cannot be an address: not this backend's kind, so it costs no second hasher run
    // after the model backend's (with both backends, an address typed as the username costs two, found or not).
    const email =
      credentials.email ??
      (typeof credentials.username === 'string' && credentials.username.includes('@')
        ? credentials.username
        : undefined);
    if (typeof email !== 'string' || typeof password !== 'string' || email.trim().length === 0) {
      report?.('not_applicable');
      return null;
    }
    const rows = await selectAll<LoginRow>(
      em,
      'SELECT id, password, is_active FROM auth_user WHERE upper(email) = upper(?) LIMIT 2',
      [email.trim()],
    );
    return this.check(
      em,
      rows.length === 1 ? rows[0] : undefined,
      password,
      report,
      rows.length > 1 ? 'ambiguous_email' : 'unknown_user',
    );
  }
}

/**
 * An identity provider's logins (OpenID Connect: src/auth/oidc-client.ts), named `oidc:<provider>`. It takes no
 * credentials (the provider checked them; the callback logs the user in with `loginAs`), and reads a session's user
 * as the model backend does: an inactive user's sessions end. Removing the provider from the settings removes the
 * backend, and so ends the sessions it started.
 */
export class ExternalBackend implements AuthenticationBackend {
  constructor(
    readonly name: string,
    private readonly model: ModelBackend,
  ) {}

  authenticate(_em: EntityManager, _credentials: Credentials, report?: ReportFailure): Promise<User | null> {
    report?.('not_applicable');
    return Promise.resolve(null);
  }

  getUser(em: EntityManager, userId: number, row?: UserRow): Promise<SessionUser | null> {
    return this.model.getUser(em, userId, row);
  }
}

/** The backend name of an OpenID Connect provider's sessions. */
export function oidcBackendName(provider: string): string {
  return `oidc:${provider}`;
}
