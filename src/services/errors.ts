/**
 * What the use-cases refuse with: one class per fact, no GraphQL or HTTP in them. The GraphQL layer gives each its
 * code (src/graphql/errors.ts); the CLI prints its message. Input that breaks a rule is the core's ValidationError
 * (every failed rule listed), and a store that is down is the store's own error: both pass through as they are.
 */
import { NamedError } from '../auth/errors.js';

/** A refusal the caller can show as it is: its message is written for the client. */
export abstract class ServiceError extends NamedError {}

/** Bad credentials, whatever the reason (unknown user, wrong password, inactive): which one is never said. */
export class InvalidCredentials extends ServiceError {
  constructor() {
    super('InvalidCredentials', 'Please enter a correct username and password.');
  }
}

/** The operation needs a logged-in user, and the request has none. */
export class NotLoggedIn extends ServiceError {
  constructor() {
    super('NotLoggedIn', 'You must be logged in.');
  }
}

/** A logged-in user without the right to do this. Which permission is missing is not said. */
export class NotPermitted extends ServiceError {
  constructor(message = 'You do not have permission to do this.') {
    super('NotPermitted', message);
  }
}

/** The object an operation names does not exist (or is not visible to the caller: the same answer). */
export class NotFound extends ServiceError {
  constructor(what: string) {
    super('NotFound', `No such ${what}.`);
  }
}

/** Locked out after too many failed attempts: how long to wait is said (django-axes does too). */
export class LockedOut extends ServiceError {
  constructor(readonly retryAfterSeconds: number) {
    super('LockedOut', `Too many failed attempts. Try again in ${retryAfterSeconds} seconds.`);
  }
}

/** A password reset link that is wrong, used, expired or voided. Which of these is not said. */
export class InvalidResetLink extends ServiceError {
  constructor() {
    super('InvalidResetLink', 'The password reset link is invalid or has expired; ask for a new one.');
  }
}

/** The password changed while this operation ran (another change, a reset or an admin won): nothing was changed. */
export class PasswordChangedMeanwhile extends ServiceError {
  constructor() {
    super('PasswordChangedMeanwhile', 'The password was changed by another request meanwhile; nothing was changed.');
  }
}

/** REGISTRATION_OPEN is off. */
export class RegistrationClosed extends ServiceError {
  constructor() {
    super('RegistrationClosed', 'Registration is closed.');
  }
}

/** Why an impersonation was refused, beyond a missing permission (FORBIDDEN): a stable reason for clients. */
export type ImpersonationRefusal = 'SUPERUSER' | 'INACTIVE' | 'SELF' | 'HOLDS_MORE';

const REFUSALS: Record<ImpersonationRefusal, string> = {
  SUPERUSER: 'Only a superuser may impersonate a superuser.',
  INACTIVE: 'An inactive user cannot be impersonated.',
  SELF: 'You cannot impersonate yourself.',
  HOLDS_MORE: 'This user holds permissions you do not: only someone who holds all of them may impersonate them.',
};

/** The target of an impersonation may not be impersonated by this caller; `reason` says why. */
export class ImpersonationRefused extends ServiceError {
  constructor(readonly reason: ImpersonationRefusal) {
    super('ImpersonationRefused', REFUSALS[reason]);
  }
}

/** stopImpersonating in a session that is not impersonating. */
export class NotImpersonating extends ServiceError {
  constructor() {
    super('NotImpersonating', 'You are not impersonating anyone.');
  }
}

/**
 * The request authenticated with an access token, and the operation works on a browser session (logging in or out,
 * changing the password, creating tokens): a token neither starts a session nor mints another token.
 */
export class SessionRequired extends ServiceError {
  constructor() {
    super('SessionRequired', 'This operation needs a logged-in session; a request with an access token has none.');
  }
}

/** No OpenID Connect provider of this name in OIDC_PROVIDERS. */
export class UnknownOidcProvider extends ServiceError {
  constructor() {
    super('UnknownOidcProvider', 'No such identity provider.');
  }
}

/** The provider could not be reached (or its discovery document is unusable): try again later. */
export class OidcProviderUnavailable extends ServiceError {
  constructor() {
    super('OidcProviderUnavailable', 'The identity provider cannot be reached right now; try again shortly.');
  }
}

/**
 * Why an OpenID Connect callback logged nobody in: the code the browser lands with (`?error=<code>`), one per fact.
 * Never more than the code: the details are in the server's log.
 */
export const OIDC_REFUSALS = [
  'OIDC_UNKNOWN_PROVIDER',
  'OIDC_PROVIDER_UNAVAILABLE',
  /** No login in progress in this browser (no cookie, expired, altered, or another provider's). */
  'OIDC_FLOW_MISSING',
  /** The state the provider sent back is not this browser's login's (a forged or crossed callback). */
  'OIDC_STATE_MISMATCH',
  'OIDC_PROVIDER_REFUSED',
  'OIDC_CODE_REJECTED',
  'OIDC_NONCE_MISMATCH',
  'OIDC_ID_TOKEN_EXPIRED',
  'OIDC_ID_TOKEN_INVALID',
  'OIDC_RESPONSE_INVALID',
  /** The linked account is inactive. */
  'OIDC_ACCOUNT_INACTIVE',
  /** Not linked, and an account has the verified address, which may not reach it: log in to it and link the provider. */
  'OIDC_ACCOUNT_EXISTS',
  /** Not linked, no account to reach, and REGISTRATION_OPEN is off. */
  'REGISTRATION_CLOSED',
  /** A link asked for by a user who is no longer the one logged in in this browser. */
  'OIDC_LINK_USER_CHANGED',
  /** A link of a provider's account that is another user's. */
  'OIDC_ALREADY_LINKED',
] as const;

export type OidcRefusal = (typeof OIDC_REFUSALS)[number];

/** An OpenID Connect callback refused, with its code; nothing was written and nobody logged in. */
export class OidcLoginRefused extends ServiceError {
  constructor(
    readonly code: OidcRefusal,
    cause?: unknown,
  ) {
    super('OidcLoginRefused', `The identity provider's login was refused (${code}).`);
    this.cause = cause;
  }
}

/** The methods a pending login can be completed with. */
export const SECOND_FACTOR_METHODS = ['TOTP', 'RECOVERY_CODE'] as const;

/**
 * The password was right and the account has a second factor: nobody is logged in yet; the session holds a pending
 * login that verifyTotp or verifyRecoveryCode completes.
 */
export class SecondFactorRequired extends ServiceError {
  readonly methods = SECOND_FACTOR_METHODS;
  constructor() {
    super(
      'SecondFactorRequired',
      'Enter the code from your authenticator app (or a recovery code) to finish logging in.',
    );
  }
}

/** A TOTP or recovery code that is wrong, used already, or out of its time: which of these is not said. */
export class InvalidCode extends ServiceError {
  constructor() {
    super('InvalidCode', 'The code is wrong or was used already.');
  }
}

/** verifyTotp with no login waiting for its second factor: none started, expired, or ended by wrong codes. */
export class NoPendingLogin extends ServiceError {
  constructor() {
    super('NoPendingLogin', 'No login is waiting for a code; log in with your password again.');
  }
}

/** startTotpEnrollment while TOTP is on: it is turned off first (disableTotp, with the password and a code). */
export class TotpAlreadyEnabled extends ServiceError {
  constructor() {
    super('TotpAlreadyEnabled', 'Two-factor authentication is already on.');
  }
}

/** An operation on a second factor the account does not have on. */
export class TotpNotEnabled extends ServiceError {
  constructor() {
    super('TotpNotEnabled', 'Two-factor authentication is not on for this account.');
  }
}

/** The field needs an authentication more recent than this session's: `reauthenticate` first. */
export class ReauthenticationRequired extends ServiceError {
  constructor(readonly maxAgeSeconds: number) {
    super(
      'ReauthenticationRequired',
      `Confirm your password (and code) to continue: this needs an authentication within the last ${maxAgeSeconds} seconds.`,
    );
  }
}
