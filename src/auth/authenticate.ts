/**
 * Django's `authenticate()`: try each backend in order; the first user returned wins; PermissionDenied from a
 * backend stops the chain; nobody matching is null, never an error.
 */
import type { EntityManager } from '@mikro-orm/postgresql';
import type { User } from '../entities/user.js';
import type { AuthenticationBackend, Credentials, LoginFailureReason } from './backends.js';
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
  // Why each backend said no, for the debug log (userLoginFailed); never for the client.
  const reasons: { backend: string; reason: LoginFailureReason | 'unknown' }[] = [];
  for (const backend of backends) {
    let user: User | null;
    let reason: LoginFailureReason | undefined;
    try {
      user = await backend.authenticate(em, credentials, (why) => {
        reason = why;
      });
    } catch (error) {
      if (!(error instanceof PermissionDenied)) throw error;
      reasons.push({ backend: backend.name, reason: 'permission_denied' });
      break; // this backend says no for everyone: stop here
    }
    if (user) return { user, backend: backend.name };
    reasons.push({ backend: backend.name, reason: reason ?? 'unknown' });
  }
  await events.emit('userLoginFailed', { credentials: scrubCredentials(credentials), reasons });
  return null;
}
