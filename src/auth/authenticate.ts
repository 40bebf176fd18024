/**
 * Django's `authenticate()`: try each backend in order; the first user returned wins; PermissionDenied from a
 * backend stops the chain; nobody matching is null, never an error.
 */
import type { EntityManager } from '@mikro-orm/postgresql';
import type { User } from '../entities/user.js';
import type { AuthenticationBackend, Credentials } from './backends.js';
import { PermissionDenied } from './errors.js';
import { scrubCredentials, type AuthEventBus } from './events.js';

export interface Authenticated {
  user: User;
  /** The backend's name, for the session to remember. */
  backend: string;
}

export async function authenticate(
  em: EntityManager,
  credentials: Credentials,
  backends: readonly AuthenticationBackend[],
  events: AuthEventBus,
): Promise<Authenticated | null> {
  for (const backend of backends) {
    let user: User | null;
    try {
      user = await backend.authenticate(em, credentials);
    } catch (error) {
      if (error instanceof PermissionDenied) break; // this backend says no for everyone: stop here
      throw error;
    }
    if (user) return { user, backend: backend.name };
  }
  await events.emit('userLoginFailed', { credentials: scrubCredentials(credentials) });
  return null;
}
