/**
 * What every resolver receives. Built once per request, in app.ts.
 */
import type { EntityManager } from '@mikro-orm/postgresql';
import type { Auth, PermissionChecker } from '../auth/index.js';
import type { ObjectPermissionChecker } from '../auth/object-permissions.js';
import type { Config } from '../config/index.js';
import type { RequestAuth } from '../auth/request-auth.js';
import type { Logger } from '../logger.js';
import type { Mailer } from '../mail/index.js';
import type { RequestAuthorization } from './authorization.js';
import type { Lockout } from '../auth/lockout.js';
import type { AccessTokens } from '../auth/access-tokens.js';
import type { Clock } from '../auth/clock.js';
import type { OidcClient } from '../auth/oidc-client.js';
import type { OidcFlows } from '../auth/oidc-flow.js';
import type { RecoveryCodes } from '../auth/recovery-codes.js';
import type { TotpDevices } from '../auth/totp-devices.js';

/** The second factor's tables: TOTP devices and recovery codes. */
export interface SecondFactorParts {
  readonly totp: TotpDevices;
  readonly recoveryCodes: RecoveryCodes;
}

/** The browser's device cookie (src/auth/device-cookie.ts), read from the request and set on the answer. */
export interface DeviceCookieJar {
  read(): string | undefined;
  write(value: string): void;
}

/** The cookie that keeps an OpenID Connect login in progress (src/auth/oidc-flow.ts), set on the answer. */
export interface OidcFlowCookie {
  write(value: string): void;
}

/** OpenID Connect: each provider's relying party, the signer of logins in progress, and their cookie. */
export interface OidcContext {
  readonly clients: ReadonlyMap<string, OidcClient>;
  readonly flows: OidcFlows;
  readonly cookie: OidcFlowCookie;
}

export interface GraphQLContext {
  /** An EntityManager forked for this request: its identity map is never shared between requests. */
  readonly em: EntityManager;
  readonly logger: Logger;
  /** The auth core (users, hashers, backends, events). */
  readonly authCore: Auth;
  /** Who is making this request; login and logout. */
  readonly auth: RequestAuth;
  /** Permission checks, each user's permissions loaded once for the request. */
  readonly permissions: PermissionChecker;
  /** Object-level checks (model level included), batched and remembered for the request. */
  readonly objectPermissions: ObjectPermissionChecker;
  /** What the directives and policies ask: the request's user and its permissions. */
  readonly authorization: RequestAuthorization;
  /** The server's configuration (password validators, registration, ...). */
  readonly config: Config;
  /** Sends e-mail in the background (console or SMTP). */
  readonly mailer: Mailer;
  /** Failed-attempt counting and lockout (login, password change, password reset). */
  readonly lockout: Lockout;
  /** The client's address (TRUST_PROXY decides how far X-Forwarded-For is believed). */
  readonly clientIp: string;
  /** The browser's device cookie (OWASP's: it logged in here before), read and set. */
  readonly deviceCookie: DeviceCookieJar;
  /** Personal access tokens' table (created, listed, revoked). */
  readonly accessTokens: AccessTokens;
  /** TOTP devices and recovery codes (src/auth/totp-devices.ts, recovery-codes.ts). */
  readonly secondFactor: SecondFactorParts;
  /** The server's clock (tests move it). */
  readonly clock: Clock;
  /** Logging in with OpenID Connect providers. */
  readonly oidc: OidcContext;
}
