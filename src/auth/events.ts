/**
 * Django's auth signals (`user_logged_in`, `user_logged_out`, `user_login_failed`), django-axes' `user_locked_out`
 * and a password change, typed, for audit logs and metrics. Listeners run after the fact and cannot change the
 * outcome; one that throws is logged, not propagated: a login never fails because an audit log is down.
 *
 * An app subscribes without editing the core: EVENT_LISTENERS=./listeners/audit.js names a module whose default
 * export receives this bus at start-up and calls `on` (docs/extending.md).
 */
import type { User } from '../entities/user.js';
import type { LoginFailureReason } from './backends.js';
import type { GuardedAction } from './lockout.js';
import type { SecondFactorMethod } from './session-auth.js';

export interface AuthEvents {
  /** `secondFactor`: how the account's second factor was proved, when it has one. */
  userLoggedIn: { user: User; backend: string; secondFactor?: SecondFactorMethod };
  userLoggedOut: { user: User | null };
  /**
   * `credentials` are scrubbed: any field that looks secret is replaced by asterisks (Django's _clean_credentials).
   * `reasons`: why each backend tried said no, in order ('unknown' from a backend that does not say).
   */
  userLoginFailed: {
    credentials: Record<string, unknown>;
    reasons: readonly { backend: string; reason: LoginFailureReason | 'unknown' }[];
  };
  /**
   * A new password was stored for the user: `via` its owner's change (with the current one), a reset link, an
   * administrator's set, or a command's (changepassword); absent when the code that stored it does not say.
   */
  userPasswordChanged: { userId: number; via?: PasswordChangeVia };
  /** An attempt was refused, before any check, because its source failed too often (django-axes). */
  userLockedOut: { username: string; ip: string; action: GuardedAction; retryAfterSeconds: number };

  // Below: what the audit log records beyond Django's signals. `actorId` is who did it (null for a command or
  // SQL run by an operator); the request it came from (id, address, impersonator) is `currentRequest()` in
  // logger.ts, read by the listener while the emitting request is still being served.

  /** A personal access token was created for `userId` (by that user, or an administrator for a service account). */
  accessTokenCreated: {
    actorId: number;
    userId: number;
    tokenId: number;
    name: string;
    /** The permissions it is limited to; null for all of its owner's. */
    scopes: readonly string[] | null;
    expiresAt: Date | null;
  };
  accessTokenRevoked: { actorId: number; userId: number; tokenId: number };
  /** One session of `userId` was ended from the session list (by that user, or an administrator). */
  sessionEnded: { actorId: number; userId: number };
  /** Direct permissions of a user were granted or revoked ('app.codename'); on one object with `objectId`. */
  userPermissionsChanged: {
    actorId: number | null;
    userId: number;
    added: readonly string[];
    removed: readonly string[];
    objectId?: string;
  };
  /** A group's permissions were granted or revoked ('app.codename'); on one object with `objectId`. */
  groupPermissionsChanged: {
    actorId: number | null;
    groupId: number;
    groupName: string;
    added: readonly string[];
    removed: readonly string[];
    objectId?: string;
  };
  /**
   * What decides whether a user may log in and how far their rights go changed: only the flags that changed, with
   * their new values (a superuser holds every permission; Django's admin lets in active staff only).
   */
  userStatusChanged: {
    actorId: number | null;
    userId: number;
    changed: { readonly isActive?: boolean; readonly isStaff?: boolean; readonly isSuperuser?: boolean };
  };
  /** A user joined or left groups (by name). */
  userGroupsChanged: { actorId: number | null; userId: number; added: readonly string[]; removed: readonly string[] };
  /**
   * A user was created: by `register`, an administrator, a command, a federated login. The actor is the request's
   * user (none for a registration or a command).
   */
  userCreated: { userId: number; username: string; isStaff: boolean; isSuperuser: boolean };
  /** A user was deleted; `username` as it was (the row is gone). */
  userDeleted: { actorId: number | null; userId: number; username: string };
  /**
   * What logs in and where password resets go changed: which of the username and the e-mail (not the address
   * itself), the username now, and the one before when it changed.
   */
  userIdentityChanged: {
    actorId: number | null;
    userId: number;
    username: string;
    changed: readonly ('username' | 'email')[];
    previousUsername?: string;
  };
  /** `actorId` started acting as `userId` (django-hijack). */
  impersonationStarted: { actorId: number; userId: number };
  impersonationEnded: { actorId: number; userId: number };
  /**
   * An identity provider's account (OpenID Connect) was linked to `userId`: at its login, found by the address the
   * provider verified or an account made for it; or by the user, logged in (`user`). (A login by an account already
   * linked is `userLoggedIn`.)
   */
  externalIdentityLinked: { userId: number; provider: string; via: 'email' | 'new_account' | 'user' };
  /** `actorId` removed the link between `userId` and their account at `provider`. */
  externalIdentityUnlinked: { actorId: number; userId: number; provider: string };
  /**
   * An identity provider's login was refused; `reason` is the code the browser landed with (OIDC_STATE_MISMATCH, ...),
   * `userId` the user it reached when it reached one (an inactive user's link).
   */
  externalLoginFailed: { backend: string; reason: string; userId?: number };
  /** The user turned TOTP on (a confirmed device) or off. */
  totpEnabled: { userId: number };
  totpDisabled: { userId: number };
  /** The user made new recovery codes (the old ones void). */
  recoveryCodesRegenerated: { userId: number };
  /** A recovery code was used (to log in or to reauthenticate); `remaining`: how many are left. */
  recoveryCodeUsed: { userId: number; remaining: number };
  /** A wrong (or replayed) TOTP or recovery code was given for the user. */
  secondFactorFailed: {
    userId: number;
    method: SecondFactorMethod;
    purpose: 'login' | 'reauthenticate' | 'disable' | 'regenerate';
  };
  /** An administrator (or a command: null) removed the user's TOTP device and recovery codes. */
  secondFactorReset: { actorId: number | null; userId: number };
}

/** How a password came to be stored (`userPasswordChanged`). */
export type PasswordChangeVia = 'change' | 'reset' | 'admin' | 'command';

export type Listener<K extends keyof AuthEvents> = (event: AuthEvents[K]) => void | Promise<void>;

export class AuthEventBus {
  private readonly listeners: { [K in keyof AuthEvents]?: Listener<K>[] } = {};

  constructor(private readonly onListenerError: (error: unknown, event: keyof AuthEvents) => void = () => undefined) {}

  on<K extends keyof AuthEvents>(event: K, listener: Listener<K>): () => void {
    const list = (this.listeners[event] ??= []) as Listener<K>[];
    list.push(listener);
    return () => {
      const index = list.indexOf(listener);
      if (index >= 0) list.splice(index, 1); // unsubscribing twice removes nothing more
    };
  }

  async emit<K extends keyof AuthEvents>(event: K, payload: AuthEvents[K]): Promise<void> {
    for (const listener of this.listeners[event] ?? []) {
      try {
        await listener(payload);
      } catch (error) {
        this.onListenerError(error, event);
      }
    }
  }
}

const SENSITIVE = /api|token|key|secret|password|signature/i;
const SUBSTITUTE = '********************';

/**
 * Django's `_clean_credentials`: a copy in which every value whose key looks secret is asterisks, at any depth
 * (GraphQL inputs nest: `{ input: { password } }`).
 */
export function scrubCredentials(credentials: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(credentials).map(([key, value]) => [key, scrub(key, value)]));
}

function scrub(key: string, value: unknown): unknown {
  if (SENSITIVE.test(key)) return SUBSTITUTE;
  if (Array.isArray(value)) return value.map((item: unknown) => scrub('', item));
  if (value !== null && typeof value === 'object') return scrubCredentials(value as Record<string, unknown>);
  return value;
}
