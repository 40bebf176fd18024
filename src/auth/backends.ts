/**
 * Authentication backends (Django's AUTHENTICATION_BACKENDS): each turns credentials into a user or says no.
 * A backend returns null, without hashing anything, for credentials that are not its kind, so that with several
 * backends a login still costs one password check.
 */
import type { EntityManager } from '@mikro-orm/postgresql';
import { User } from '../entities/user.js';
import type { Passwords } from './passwords.js';

export type Credentials = Record<string, unknown>;

export interface AuthenticationBackend {
  /** Recorded with the login, so the session can ask the same backend for the user later. */
  readonly name: string;
  /** The user these credentials prove, or null. May throw PermissionDenied to stop the chain. */
  authenticate(em: EntityManager, credentials: Credentials): Promise<User | null>;
  /** The user a session names, or null if it may no longer be used. */
  getUser(em: EntityManager, userId: number): Promise<User | null>;
}

/** Django's `user_can_authenticate`: inactive users are refused. */
function canAuthenticate(user: User): boolean {
  return user.isActive;
}

/** Django's ModelBackend: `{ username, password }`, the username matched exactly. */
export class ModelBackend implements AuthenticationBackend {
  readonly name: string = 'model';

  constructor(protected readonly passwords: Passwords) {}

  async authenticate(em: EntityManager, credentials: Credentials): Promise<User | null> {
    const { username, password } = credentials;
    if (typeof username !== 'string' || typeof password !== 'string') return null;
    return this.check(em, await em.findOne(User, { username }), password);
  }

  async getUser(em: EntityManager, userId: number): Promise<User | null> {
    const user = await em.findOne(User, { id: userId });
    return user && canAuthenticate(user) ? user : null;
  }

  protected async check(em: EntityManager, user: User | null, password: string): Promise<User | null> {
    if (!user) {
      // Run the default password hasher once to reduce the timing difference between an existing and a
      // nonexistent user (Django #20760).
      await this.passwords.hashers.runDummy(password);
      return null;
    }
    // The password is checked even for an inactive user, so that timing does not tell who is inactive.
    const valid = await this.passwords.checkPassword(em, user, password);
    return valid && canAuthenticate(user) ? user : null;
  }
}

/**
 * `{ email, password }`, the e-mail matched case-insensitively. Django lets several users share an address;
 * when more than one user has it, nobody can log in with it (guessing which one is meant would be worse).
 */
export class EmailBackend extends ModelBackend {
  override readonly name = 'email';

  override async authenticate(em: EntityManager, credentials: Credentials): Promise<User | null> {
    const { email, password } = credentials;
    if (typeof email !== 'string' || typeof password !== 'string' || email.length === 0) return null;
    const matches = await em.find(User, { email: { $ilike: escapeLike(email.trim()) } }, { limit: 2 });
    return this.check(em, matches.length === 1 ? (matches[0] ?? null) : null, password);
  }
}

/** Makes LIKE's wildcards literal, so an e-mail containing `%` or `_` matches only itself. */
function escapeLike(value: string): string {
  return value.replace(/[\\%_]/g, (char) => `\\${char}`);
}
