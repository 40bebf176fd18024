/**
 * The server's answer to what the directives ask (directives/authorization.ts), for one request: the session's user,
 * Django's permissions (loaded once per request) and guardian's object-level checks (batched).
 */
import { isAuthenticated, type RequestUser } from '../auth/anonymous.js';
import type { ObjectPermissionChecker } from '../auth/object-permissions.js';
import type { PermissionChecker } from '../auth/permissions.js';
import type { User } from '../entities/user.js';
import { SessionStoreError, type RequestAuth } from '../auth/request-auth.js';
import type { Clock } from '../auth/clock.js';
import type { Logger } from '../logger.js';
import type { Authorization, ObjectKey } from './directives/index.js';
import { serviceUnavailable, sessionRequired, unauthenticated } from './errors.js';

export class RequestAuthorization implements Authorization {
  constructor(
    private readonly auth: RequestAuth,
    private readonly permissions: PermissionChecker,
    private readonly objects: ObjectPermissionChecker,
    private readonly logger: Logger,
    private readonly clock: Clock,
    readonly stepUpMaxAgeSeconds: number,
  ) {}

  /**
   * Seconds since the session's user proved who they are. A request with an access token has no authentication time
   * and cannot reauthenticate: a field asking for a recent authentication answers it SESSION_REQUIRED (a refusal, as
   * for a stale session, but one that says what would do). The token itself was created by a session that had just
   * authenticated (createAccessToken asks for it too).
   */
  async authenticationAge(): Promise<number | undefined> {
    if (this.auth.accessToken) throw sessionRequired();
    if (!(await this.user())) return undefined;
    const at = this.auth.authenticatedAt();
    // No login time left: the session ended while this request read it (a logout elsewhere). Nobody to reauthenticate.
    if (at === undefined) throw unauthenticated();
    return (this.clock.now().getTime() - at) / 1000;
  }

  /** The logged-in, active user; a session store that fails while resolving it is SERVICE_UNAVAILABLE. */
  async user(): Promise<User | null> {
    let user: RequestUser;
    try {
      user = await this.auth.requestUser();
    } catch (error) {
      if (!(error instanceof SessionStoreError)) throw error;
      this.logger.error({ err: error.cause }, 'the session store failed');
      throw serviceUnavailable();
    }
    // Only active users ever resolve from a session; asked again here so that no path skips it.
    return isAuthenticated(user) && user.isActive ? user : null;
  }

  async hasPerm(perm: string): Promise<boolean> {
    return this.permissions.hasPerm(await this.user(), perm);
  }

  async permittedKeys(perm: string, model: string | undefined, keys: readonly ObjectKey[]): Promise<Set<string>> {
    return this.objects.permittedKeys(await this.user(), perm, model, keys);
  }
}
